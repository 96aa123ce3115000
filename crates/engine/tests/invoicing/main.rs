//! Building cXML invoices and credits from Brightpearl orders, and the
//! checks before they are sent.

mod building;
mod charges_and_tax;
mod corpus;
mod credits;
mod preflight;
mod support;
