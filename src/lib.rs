//! kubectl-prom: find Prometheus servers on Kubernetes, see what is wrong, fix it with a confirmed plan, verify.

pub mod access;
pub mod accounting;
pub mod app;
pub mod cli;
pub mod clients;
pub mod commands;
pub mod connect;
pub mod context;
pub mod credentials;
pub mod discover;
pub mod doctor;
pub mod engine;
pub mod error;
pub mod escape;
pub mod fix_perms;
pub mod images;
pub mod install;
pub mod interrupt;
pub mod logscan;
pub mod model;
pub mod output;
pub mod podexec;
pub mod podlogs;
pub mod progress;
pub mod prom_http;
pub mod promconfig;
pub mod quantity;
pub mod reloading;
pub mod resize;
pub mod retry;
pub mod transport;
pub mod ui;
pub mod yaml;

pub use error::{Error, ExitCode, Result};
