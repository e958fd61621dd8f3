//! Integration tests: the real daemon on an ephemeral port, real HTTP, a fresh database per test
//! (SQLite always; PostgreSQL too when DIALTONE_TEST_POSTGRES_URL is set).

mod support;

mod apikeys;
mod auth;
mod bad_input;
mod changes;
mod cli;
mod contract;
mod corrupt;
mod db_restart;
mod devices;
mod dialplan;
mod echoed_input;
mod events;
mod jobs;
mod mobiles;
mod native_contract;
mod notify;
mod numbers;
mod organizations;
mod pinger;
mod provisioning;
mod queues;
mod redirect;
mod references;
mod rest_core;
mod retention;
mod sequences;
mod sip;
mod slow_clients;
mod telephony_limits;
mod templates;
mod tenancy;
mod trunks;
mod users;
mod webhooks;

/// Says which backend this run used, so a log shows whether PostgreSQL was exercised.
#[test]
fn database_backend_of_this_run() {
    match support::backend() {
        "postgres" => {
            println!("integration suite running on PostgreSQL (DIALTONE_TEST_POSTGRES_URL)")
        }
        _ => println!(
            "PostgreSQL leg skipped: DIALTONE_TEST_POSTGRES_URL is not set; the suite ran on SQLite"
        ),
    }
}
