//! Goods-out notes: the GET by order (with `*` for any order) and the test
//! hook that ships an order.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::account::{Account, IdCounters};
use crate::envelope::Reply;
use crate::resources::{parse_ids, Ctx};
use crate::time::format_api;
use crate::webhooks::Event;
use crate::SandboxError;

/// `GET warehouse-service/order/{orderIds}/goods-note/goods-out[/{noteIds}]`:
/// a map keyed by note id.
pub(crate) fn get(ctx: &Ctx<'_>, rest: &[&str]) -> Option<Reply> {
    const MT: &str = "get-goods-out-note";
    let ["order", orders, "goods-note", "goods-out", notes @ ..] = rest else {
        return None;
    };
    let order_ids = match parse_ids(orders, MT) {
        Ok(ids) => ids,
        Err(reply) => return Some(reply),
    };
    let note_ids = match parse_ids(notes.first().copied().unwrap_or(""), MT) {
        Ok(ids) => ids,
        Err(reply) => return Some(reply),
    };
    let mut map = Map::new();
    for order in ctx
        .account
        .orders
        .values()
        .filter(|o| order_ids.contains(o.id))
    {
        for (note_id, note) in order
            .goods_out_notes
            .iter()
            .filter(|(id, _)| note_ids.contains(**id))
        {
            map.insert(note_id.to_string(), note.clone());
        }
    }
    Some(Reply::ok(Value::Object(map), MT))
}

/// Creates one shipped goods-out note for every stock row of an order.
pub(crate) fn ship(
    account: &mut Account,
    id: u64,
    tracking: &str,
    now: DateTime<Utc>,
) -> Result<(u64, Vec<Event>), SandboxError> {
    let note_id = IdCounters::next(&mut account.ids.goods_note);
    let offset = account.catalogue.offset;
    let staff = account.catalogue.settings.api_user_contact_id;
    let order = account
        .orders
        .get_mut(&id)
        .ok_or(SandboxError::UnknownOrder(id))?;
    let at = format_api(now, offset);
    let rows: Map<String, Value> = order
        .rows
        .values()
        .filter(|r| r.stock_tracked)
        .map(|r| {
            let quantity = r.quantity.trunc().to_string().parse::<i64>().unwrap_or(0);
            (r.id.to_string(), json!([{ "productId": r.product_id.unwrap_or(0), "quantity": quantity, "locationId": 2 }]))
        })
        .collect();
    let note = json!({
        "orderId": order.id,
        "warehouseId": order.warehouse_id,
        "transfer": false,
        "priority": false,
        "status": {
            "shipped": true, "packed": true, "picked": true, "printed": true,
            "pickedOn": at, "packedOn": at, "shippedOn": at, "printedOn": at,
            "pickedById": staff, "packedById": staff, "shippedById": staff, "printedById": staff
        },
        "shipping": { "reference": tracking, "shippingMethodId": order.shipping_method_id },
        "releaseDate": at,
        "createdOn": at,
        "createdBy": staff,
        "orderRows": rows,
        "sequence": order.goods_out_notes.len() + 1,
        "events": [
            { "occured": at, "eventOwnerId": staff, "eventCode": "PLA" },
            { "occured": at, "eventOwnerId": staff, "eventCode": "SHW" }
        ],
        "lastEventVersion": note_id
    });
    order.goods_out_notes.insert(note_id, note);
    order.shipped = true;
    order.touch(now);
    let events = vec![
        Event::new("goods-out-note.created", note_id, now),
        Event::new("goods-out-note.modified.shipped", note_id, now),
        Event::new("order.modified.fully-shipped", order.id, now),
    ];
    Ok((note_id, events))
}
