//! The changes services publish, one type per kind, and how each is written to and read back
//! from its revision row (`kind`, `detail`). A room that keeps a new in-memory copy adds its
//! kind here: a struct, a variant, and its arms in `kind`/`detail`/`from_row`.

/// Devices, their lines, credentials or variables changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceChanged {
    /// The MACs involved (before and after an edit). Empty: any device may have changed (a
    /// bulk import, an organization's provisioning settings).
    pub macs: Vec<crate::types::Mac>,
}

impl DeviceChanged {
    pub const KIND: &'static str = "device";

    pub fn all() -> Self {
        Self::default()
    }
}

/// An organization was created, changed or deleted (the dial plan is assembled over the tree).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrganizationChanged {
    /// None: any organization.
    pub id: Option<i64>,
}

impl OrganizationChanged {
    pub const KIND: &'static str = "organization";
}

/// Where an organization's phones and PBXs may come from: its orgips or client access.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrgAccessChanged {
    /// None: any organization.
    pub organization_id: Option<i64>,
}

impl OrgAccessChanged {
    pub const KIND: &'static str = "org_access";
}

/// A SIP trunk, its gateways or its allowed source IPs changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrunkChanged {
    /// None: any trunk.
    pub trunk_id: Option<i64>,
}

impl TrunkChanged {
    pub const KIND: &'static str = "trunk";
}

/// A dial plan policy or policy group changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicyChanged;

impl PolicyChanged {
    pub const KIND: &'static str = "policy";
}

/// An instance reloaded its phone templates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TemplatesChanged;

impl TemplatesChanged {
    pub const KIND: &'static str = "templates";
}

/// One change, as subscribers receive it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Device(DeviceChanged),
    Organization(OrganizationChanged),
    OrgAccess(OrgAccessChanged),
    Trunk(TrunkChanged),
    Policy(PolicyChanged),
    Templates(TemplatesChanged),
    /// Anything may have changed: the subscriber fell behind, or this instance lost track of
    /// the revision table for a while. Every copy refreshes in full.
    Everything,
}

impl Change {
    /// The revision row this change bumps (`Everything` is never published).
    pub fn kind(&self) -> &'static str {
        match self {
            Change::Device(_) => DeviceChanged::KIND,
            Change::Organization(_) => OrganizationChanged::KIND,
            Change::OrgAccess(_) => OrgAccessChanged::KIND,
            Change::Trunk(_) => TrunkChanged::KIND,
            Change::Policy(_) => PolicyChanged::KIND,
            Change::Templates(_) => TemplatesChanged::KIND,
            Change::Everything => "everything",
        }
    }

    /// The most MACs a revision row names; a larger device change (a bulk create or import)
    /// keeps no detail, so other instances drop every device instead of every instance reading
    /// a row of megabytes on each poll.
    pub const MAX_DETAIL_MACS: usize = 256;

    /// What the row keeps of the change, for targeted invalidation on other instances.
    pub fn detail(&self) -> String {
        fn id(id: Option<i64>) -> String {
            id.map(|id| id.to_string()).unwrap_or_default()
        }
        match self {
            Change::Device(c) if c.macs.len() > Self::MAX_DETAIL_MACS => String::new(),
            Change::Device(c) => c
                .macs
                .iter()
                .map(|m| m.to_string())
                .collect::<Vec<_>>()
                .join(","),
            Change::Organization(c) => id(c.id),
            Change::OrgAccess(c) => id(c.organization_id),
            Change::Trunk(c) => id(c.trunk_id),
            Change::Policy(_) | Change::Templates(_) | Change::Everything => String::new(),
        }
    }

    /// The change a row holds; with `detail` None (several changes of the kind were missed),
    /// the widest change of that kind. None for a kind this build does not know (a newer
    /// instance's): no copy here depends on it.
    pub fn from_row(kind: &str, detail: Option<&str>) -> Option<Change> {
        let id = |detail: Option<&str>| detail.and_then(|d| d.parse::<i64>().ok());
        Some(match kind {
            // A detail naming a MAC this build cannot read stands for any device.
            DeviceChanged::KIND => Change::Device(DeviceChanged {
                macs: detail
                    .unwrap_or_default()
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(crate::types::Mac::parse)
                    .collect::<Result<_, _>>()
                    .unwrap_or_default(),
            }),
            OrganizationChanged::KIND => {
                Change::Organization(OrganizationChanged { id: id(detail) })
            }
            OrgAccessChanged::KIND => Change::OrgAccess(OrgAccessChanged {
                organization_id: id(detail),
            }),
            TrunkChanged::KIND => Change::Trunk(TrunkChanged {
                trunk_id: id(detail),
            }),
            PolicyChanged::KIND => Change::Policy(PolicyChanged),
            TemplatesChanged::KIND => Change::Templates(TemplatesChanged),
            _ => return None,
        })
    }
}

impl From<DeviceChanged> for Change {
    fn from(c: DeviceChanged) -> Self {
        Change::Device(c)
    }
}

impl From<OrganizationChanged> for Change {
    fn from(c: OrganizationChanged) -> Self {
        Change::Organization(c)
    }
}

impl From<OrgAccessChanged> for Change {
    fn from(c: OrgAccessChanged) -> Self {
        Change::OrgAccess(c)
    }
}

impl From<TrunkChanged> for Change {
    fn from(c: TrunkChanged) -> Self {
        Change::Trunk(c)
    }
}

impl From<PolicyChanged> for Change {
    fn from(c: PolicyChanged) -> Self {
        Change::Policy(c)
    }
}

impl From<TemplatesChanged> for Change {
    fn from(c: TemplatesChanged) -> Self {
        Change::Templates(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_row() {
        let changes = [
            Change::Device(DeviceChanged {
                macs: vec![
                    crate::types::Mac::parse("0015651234AB").unwrap(),
                    crate::types::Mac::parse("0015651234AC").unwrap(),
                ],
            }),
            Change::Device(DeviceChanged::all()),
            Change::Organization(OrganizationChanged { id: Some(7) }),
            Change::OrgAccess(OrgAccessChanged {
                organization_id: Some(3),
            }),
            Change::Trunk(TrunkChanged { trunk_id: Some(12) }),
            Change::Trunk(TrunkChanged { trunk_id: None }),
            Change::Policy(PolicyChanged),
            Change::Templates(TemplatesChanged),
        ];
        for change in changes {
            let detail = change.detail();
            assert_eq!(
                Change::from_row(change.kind(), Some(&detail)),
                Some(change.clone())
            );
        }
    }

    #[test]
    fn a_bulk_device_change_keeps_no_detail_and_reads_back_as_every_device() {
        let macs = (0..=Change::MAX_DETAIL_MACS)
            .map(|i| crate::types::Mac::parse(&format!("001565{i:06X}")).unwrap())
            .collect();
        let bulk = Change::Device(DeviceChanged { macs });
        assert_eq!(bulk.detail(), "");
        assert_eq!(
            Change::from_row(bulk.kind(), Some(&bulk.detail())),
            Some(Change::Device(DeviceChanged { macs: Vec::new() }))
        );
    }

    #[test]
    fn a_missed_detail_widens_to_the_whole_kind_and_unknown_kinds_are_ignored() {
        assert_eq!(
            Change::from_row("device", None),
            Some(Change::Device(DeviceChanged::all()))
        );
        assert_eq!(
            Change::from_row("trunk", None),
            Some(Change::Trunk(TrunkChanged { trunk_id: None }))
        );
        assert_eq!(Change::from_row("rate_deck", Some("4")), None);
    }
}
