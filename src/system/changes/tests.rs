//! The feed on a real SQLite database: order, lagging subscribers, and two instances sharing
//! the revision table.

use super::*;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

async fn database(dir: &tempfile::TempDir) -> Db {
    let url = format!("sqlite://{}", dir.path().join("changes.db").display());
    let db = crate::db::connect(&url, 2).await.unwrap();
    crate::db::migrate(&db).await.unwrap();
    db
}

fn device(mac: &str) -> Change {
    Change::Device(DeviceChanged {
        macs: vec![crate::types::Mac::parse(mac).unwrap()],
    })
}

fn trunk(id: i64) -> Change {
    Change::Trunk(TrunkChanged { trunk_id: Some(id) })
}

/// What `subscription` has now, without waiting for more.
async fn drain(subscription: &mut Subscription) -> Vec<Change> {
    let mut out = Vec::new();
    while let Ok(change) =
        tokio::time::timeout(Duration::from_millis(50), subscription.recv()).await
    {
        out.push(change);
    }
    out
}

#[tokio::test]
async fn subscribers_hear_changes_in_publish_order() {
    let dir = tempfile::tempdir().unwrap();
    let changes = Changes::new(database(&dir).await);
    let mut first = changes.subscribe();
    let mut second = changes.subscribe();
    let published = vec![
        device("0015651234AB"),
        trunk(3),
        Change::Policy(PolicyChanged),
    ];
    for change in &published {
        changes.publish(change.clone()).await;
    }
    assert_eq!(drain(&mut first).await, published);
    assert_eq!(drain(&mut second).await, published);
}

#[tokio::test]
async fn a_slow_subscriber_blocks_no_publisher_and_hears_everything_changed() {
    let dir = tempfile::tempdir().unwrap();
    let changes = Changes::with_capacity(database(&dir).await, 4);
    let mut slow = changes.subscribe();
    let mut fast = changes.subscribe();
    let reader = tokio::spawn(async move {
        let mut heard = Vec::new();
        for _ in 0..20 {
            heard.push(fast.recv().await);
        }
        heard
    });
    let published: Vec<Change> = (1..=20).map(trunk).collect();
    let publishing = async {
        for change in &published {
            changes.publish(change.clone()).await;
            // The fast reader keeps up; the slow one never reads while we publish.
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), publishing)
        .await
        .expect("publishing never waits for a subscriber");
    assert_eq!(reader.await.unwrap(), published);
    let heard = drain(&mut slow).await;
    assert_eq!(heard[0], Change::Everything, "{heard:?}");
    // Then it goes on with what the channel still holds, newest last.
    assert_eq!(heard[1..], published[16..]);
}

#[tokio::test]
async fn another_instance_hears_a_change_through_the_revision_table() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(&dir).await;
    let a = Changes::new(db.clone());
    let b = Changes::new(db);
    a.prime().await.unwrap();
    b.prime().await.unwrap();
    let mut on_a = a.subscribe();
    let mut on_b = b.subscribe();

    a.publish(device("0015651234AB")).await;
    b.catch_up().await.unwrap();
    a.catch_up().await.unwrap();
    assert_eq!(drain(&mut on_b).await, vec![device("0015651234AB")]);
    // A heard its own change once, when it published it.
    assert_eq!(drain(&mut on_a).await, vec![device("0015651234AB")]);

    // Two changes of one kind between polls: B cannot tell which, so the whole kind.
    a.publish(trunk(1)).await;
    a.publish(trunk(2)).await;
    b.catch_up().await.unwrap();
    assert_eq!(
        drain(&mut on_b).await,
        vec![Change::Trunk(TrunkChanged { trunk_id: None })]
    );
    b.catch_up().await.unwrap();
    assert_eq!(drain(&mut on_b).await, vec![], "nothing new, nothing heard");
}

#[tokio::test]
async fn an_instance_that_never_read_the_table_assumes_everything_changed() {
    let dir = tempfile::tempdir().unwrap();
    let changes = Changes::new(database(&dir).await);
    let mut subscription = changes.subscribe();
    changes.catch_up().await.unwrap();
    assert_eq!(drain(&mut subscription).await, vec![Change::Everything]);
    changes.catch_up().await.unwrap();
    assert_eq!(drain(&mut subscription).await, vec![]);
}

#[tokio::test]
async fn follow_republishes_within_its_interval_and_stops_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(&dir).await;
    let a = Changes::new(db.clone());
    let b = Changes::new(db);
    b.prime().await.unwrap();
    let mut on_b = b.subscribe();
    let shutdown = CancellationToken::new();
    let poller = tokio::spawn(follow(
        b.clone(),
        Duration::from_millis(20),
        shutdown.clone(),
    ));
    a.publish(Change::Templates(TemplatesChanged)).await;
    let heard = tokio::time::timeout(Duration::from_secs(2), on_b.recv())
        .await
        .expect("heard within 2 s");
    assert_eq!(heard, Change::Templates(TemplatesChanged));
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(2), poller)
        .await
        .expect("the poller stops on shutdown")
        .unwrap();
}
