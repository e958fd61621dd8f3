-- RFC 6238 §5.2: a two-factor code is accepted once. The time step (unix time / 30) of the last
-- code a user signed in or changed two-factor settings with; a code of that step or an earlier
-- one is refused.
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
