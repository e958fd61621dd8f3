//! Integration tests: the real daemon on an ephemeral port, real HTTP, a fresh database per test
//! (SQLite always; PostgreSQL too when DIALTONE_TEST_POSTGRES_URL is set).

mod support;

mod auth;
mod bad_input;
mod cli;
mod organizations;
mod rest_core;
mod tenancy;
mod users;
