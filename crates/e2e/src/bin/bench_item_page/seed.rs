//! The benchmark's account: buyers, a product index and Coupa items with a
//! known mix of mapping statuses, written through the `Store` trait's batch
//! calls so the page's triggers compute every status.

use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use pobridge_core::AccountId;
use pobridge_engine::Engine;
use pobridge_store::{
    BuyerMode, CoupaItem, CredentialRef, ItemMapping, ItemPageQuery, MappingStatusCounts, NewBuyer,
    Product,
};
use rust_decimal::Decimal;

/// Coupa items in the account.
pub const ITEMS: usize = 100_000;
/// Products in the local index.
pub const PRODUCTS: usize = 50_000;
/// Names of the account's buyers; the items are spread evenly over them.
pub const BUYERS: [&str; 3] = ["north-hospital", "south-clinic", "west-lab"];
/// Items written per store call, so progress shows and no transaction is huge.
const BATCH: usize = 10_000;

/// Description nouns. The search for many items looks for the first one,
/// which about one item in `NOUNS.len()` contains.
pub const NOUNS: [&str; 20] = [
    "gloves", "syringe", "gauze", "catheter", "mask", "gown", "bandage", "scalpel", "swab",
    "tubing", "pipette", "beaker", "cuvette", "filter", "label", "tray", "drape", "sponge",
    "splint", "cannula",
];
const MATERIALS: [&str; 8] = [
    "nitrile",
    "latex",
    "cotton",
    "steel",
    "polypropylene",
    "glass",
    "silicone",
    "paper",
];
const SIZES: [&str; 6] = ["small", "medium", "large", "x-large", "10 ml", "25 mm"];
const PART_PREFIXES: [&str; 4] = ["CP", "HX", "MED", "LAB"];
const UNITS: [&str; 4] = ["EA", "EA", "BX", "CS"];

/// The buyers' ids and the counts per status the seeding made.
pub struct Seeded {
    pub buyers: Vec<pobridge_core::BuyerId>,
    pub counts: MappingStatusCounts,
}

/// Adds the buyers, products, items and manual mappings to `account`, prints
/// how long each step took, and checks that the store's counts per status
/// equal the mix the generator chose.
pub async fn seed(engine: &Engine, account: AccountId) -> Result<Seeded> {
    let store = &engine.store;
    let mut buyers = Vec::new();
    for name in BUYERS {
        buyers.push(engine.create_buyer(account, new_buyer(name)).await?.id);
    }

    let started = Instant::now();
    store.upsert_products(account, &products()).await?;
    report("products", PRODUCTS, started.elapsed());

    let plan = ItemPlan::generate();
    let started = Instant::now();
    for (index, buyer) in buyers.iter().enumerate() {
        let items: Vec<CoupaItem> = plan
            .items
            .iter()
            .skip(index)
            .step_by(buyers.len())
            .cloned()
            .collect();
        for batch in items.chunks(BATCH) {
            store
                .record_coupa_items(account, *buyer, batch, engine.clock.now())
                .await?;
        }
    }
    report("Coupa items", ITEMS, started.elapsed());

    let started = Instant::now();
    let mappings = plan.mappings(&buyers);
    store
        .upsert_item_mappings(account, &mappings, engine.clock.now())
        .await?;
    report("manual item mappings", mappings.len(), started.elapsed());

    let page = store
        .item_page(
            account,
            &ItemPageQuery {
                limit: Some(1),
                ..ItemPageQuery::default()
            },
        )
        .await?;
    let expected = plan.counts();
    ensure!(
        page.counts == expected,
        "the store counts {:?} per status, but the generator made {expected:?}",
        page.counts
    );
    Ok(Seeded {
        buyers,
        counts: page.counts,
    })
}

fn report(what: &str, count: usize, elapsed: Duration) {
    println!("  seeded {count} {what} in {:.1} s", elapsed.as_secs_f64());
}

fn new_buyer(name: &str) -> NewBuyer {
    let credential = |domain: &str| CredentialRef {
        domain: domain.to_owned(),
        identity: format!("{name}-{domain}"),
    };
    NewBuyer {
        name: name.to_owned(),
        from: credential("NetworkID"),
        to: credential("DUNS"),
        sender: credential("NetworkID"),
        shared_secret: Some(format!("secret-of-{name}")),
        url_token: None,
        mode: BuyerMode::Production,
        invoice_url: None,
    }
}

/// The product with index `index`: SKU `SKU-00042`, a name like an item's
/// description.
fn products() -> Vec<Product> {
    let mut random = SplitMix64(7);
    (0..PRODUCTS)
        .map(|index| Product {
            product_id: 1_000 + index as i64,
            name: description(&mut random),
            sku: Some(sku(index)),
            barcode: None,
            ean: None,
            upc: None,
            mpn: None,
            isbn: None,
            stock_tracked: false,
            tax_code: None,
            updated_on: None,
        })
        .collect()
}

fn sku(index: usize) -> String {
    format!("SKU-{index:05}")
}

fn description(random: &mut SplitMix64) -> String {
    format!(
        "{} {} {}, pack of {}",
        random.pick(&MATERIALS),
        random.pick(&NOUNS),
        random.pick(&SIZES),
        [1, 10, 50, 100][random.below(4)]
    )
}

/// How an item of the plan gets its status.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Planned {
    /// Its part id is a product's SKU.
    ByUniqueId,
    /// A manual mapping of its part applies.
    ByHand,
    Unmapped,
}

/// Every item to record, in order, with the status each should end with.
/// Item `i` goes to buyer `i % BUYERS.len()`.
struct ItemPlan {
    items: Vec<CoupaItem>,
    planned: Vec<Planned>,
}

impl ItemPlan {
    /// About a third of the items carry a product's SKU as part id, one in
    /// fourteen gets a manual mapping, the rest match no product.
    fn generate() -> Self {
        let mut random = SplitMix64(42);
        let mut items = Vec::with_capacity(ITEMS);
        let mut planned = Vec::with_capacity(ITEMS);
        let mut skus_used = 0;
        for index in 0..ITEMS {
            let roll = random.below(100);
            let (part_id, plan) = if roll < 33 && skus_used < PRODUCTS {
                skus_used += 1;
                (sku(skus_used - 1), Planned::ByUniqueId)
            } else {
                let part = format!("{}-{index:06}", random.pick(&PART_PREFIXES));
                let plan = if roll < 40 {
                    Planned::ByHand
                } else {
                    Planned::Unmapped
                };
                (part, plan)
            };
            items.push(CoupaItem {
                part_id,
                auxiliary_id: None,
                buyer_part_id: None,
                manufacturer_part_id: Some(format!("MPN{}", random.below(1_000_000))),
                unit_of_measure: random.pick(&UNITS).to_owned(),
                description: description(&mut random),
            });
            planned.push(plan);
        }
        Self { items, planned }
    }

    /// Builds one mapping per manually mapped item: every other one names the
    /// item's buyer, the rest apply account-wide.
    fn mappings(&self, buyers: &[pobridge_core::BuyerId]) -> Vec<ItemMapping> {
        self.items
            .iter()
            .zip(&self.planned)
            .enumerate()
            .filter(|(_, (_, plan))| **plan == Planned::ByHand)
            .map(|(index, (item, _))| ItemMapping {
                buyer: (index % 2 == 0).then(|| buyers[index % buyers.len()]),
                coupa_part_id: item.part_id.clone(),
                unit_of_measure: None,
                product_id: 1_000 + (index % PRODUCTS) as i64,
                quantity_factor: Decimal::ONE,
            })
            .collect()
    }

    fn counts(&self) -> MappingStatusCounts {
        let count =
            |wanted: Planned| self.planned.iter().filter(|plan| **plan == wanted).count() as i64;
        MappingStatusCounts {
            mapped_by_hand: count(Planned::ByHand),
            mapped_by_unique_id: count(Planned::ByUniqueId),
            unmapped: count(Planned::Unmapped),
        }
    }
}

/// A small, seeded pseudo-random generator (SplitMix64), so every run
/// writes the same data.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    fn pick<'a>(&mut self, choices: &[&'a str]) -> &'a str {
        choices[self.below(choices.len())]
    }
}
