//! Organization trees the tests build through the API: distributor › partners › tenants, with
//! users in them.

use super::{Api, TestApp};

/// The tree most tests use: platform › dist › partner_a › tenant_a1, with a sibling partner_b,
/// and an admin in each.
pub struct Tree {
    pub platform: i64,
    pub dist: i64,
    pub partner_a: i64,
    pub partner_b: i64,
    pub tenant_a1: i64,
}

pub async fn tree(app: &TestApp) -> (Tree, Api) {
    let root = app.root().await;
    let platform = 1;
    let dist = root.create_org("Dist", "distributor", platform).await;
    let partner_a = root.create_org("Partner A", "partner", dist).await;
    let partner_b = root.create_org("Partner B", "partner", dist).await;
    let tenant_a1 = root.create_org("Tenant A1", "tenant", partner_a).await;
    (
        Tree {
            platform,
            dist,
            partner_a,
            partner_b,
            tenant_a1,
        },
        root,
    )
}
