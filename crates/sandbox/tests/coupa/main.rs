//! The Coupa invoice-endpoint simulator over real HTTP on loopback: the
//! corpus invoices, every rejection, multipart bodies, faults and the
//! JSON controls.

mod accepted;
mod controls;
mod faults;
mod rejected;
mod support;
