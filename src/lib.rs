//! inspect-desk: the support desk for the inspect profiler launch.

pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod email;
pub mod error;
pub mod jobs;
pub mod runbooks;
pub mod services;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod web;
