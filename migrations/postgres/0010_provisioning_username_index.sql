-- The provisioning server finds a device by the user name its phone authenticates with; without
-- an index every cache miss (and every made-up user name a scanner tries) scans all devices.
-- Not unique: two devices may share a user name (the server then tells them apart by password,
-- looking at no more than eight of them).
CREATE INDEX ix_devices_provisioning_username ON devices (provisioning_username);
