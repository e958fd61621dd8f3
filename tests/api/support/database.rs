//! A fresh database per test: a new SQLite file under the test's directory, or a new PostgreSQL
//! database (dropped when the test ends) when `DIALTONE_TEST_POSTGRES_URL` is set.

/// A fresh PostgreSQL database for one test, dropped when the test ends.
pub struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime; use a thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

/// The database URL for a new test: a new SQLite file, or a new PostgreSQL database.
pub async fn fresh_database(dir: &std::path::Path) -> (String, Option<PgDatabase>) {
    match std::env::var("DIALTONE_TEST_POSTGRES_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            use sqlx::Connection;
            let name = format!("dialtone_test_{:016x}", rand::random::<u64>());
            let mut conn = sqlx::PgConnection::connect(&admin_url)
                .await
                .expect("connect to DIALTONE_TEST_POSTGRES_URL");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                .execute(&mut conn)
                .await
                .expect("create test database");
            let (base, query) = match admin_url.split_once('?') {
                Some((b, q)) => (b.to_string(), format!("?{q}")),
                None => (admin_url.clone(), String::new()),
            };
            let authority_end = base.find("://").map(|i| i + 3).unwrap_or(0);
            let base = match base[authority_end..].find('/') {
                Some(slash) => base[..authority_end + slash].to_string(),
                None => base,
            };
            (
                format!("{base}/{name}{query}"),
                Some(PgDatabase { admin_url, name }),
            )
        }
        _ => (format!("sqlite://{}", dir.join("test.db").display()), None),
    }
}
