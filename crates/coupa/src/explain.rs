//! Coupa's terse status texts, explained in words a supplier can act on.

/// Explains Coupa's answer `code`/`text` for an invoice: what it means and
/// what to change. Unknown texts are returned as Coupa wrote them.
pub fn explain(code: u16, text: &str) -> String {
    let advice = match code {
        300..=399 => Some("pobridge does not follow redirects, so the invoice was not delivered; ask the buyer's Coupa administrator for the cXML invoice URL and set that as the buyer's invoice URL"),
        401 => Some("Coupa did not accept the invoicing credentials: check the buyer's invoicing From, To and Sender identities and shared secret against the customer's supplier record in Coupa"),
        403 => Some("the customer has not allowed cXML invoicing for this supplier: ask them to enable \"Allow cXML Invoicing\" on the supplier record"),
        404 => Some("nothing answers at the buyer's invoice URL: ask the buyer's Coupa administrator for the cXML invoice URL and set that as the buyer's invoice URL"),
        408 | 429 => Some("Coupa did not take the invoice this time; pobridge sends it again later with the same number"),
        406 if text.contains("DTD") => Some("Coupa found the document out of the cXML DTD's order or missing a required element; this is a pobridge defect, please report it with the document"),
        406 => Some("Coupa could not parse the document; check that nothing altered it on the way"),
        413 => Some("the invoice has more lines than the customer allows; split the Brightpearl invoice"),
        417 if text.contains("order/document reference") => Some("Coupa does not know the PO this invoice references, or it belongs to another supplier record: check the buyer's invoicing credentials and the PO number"),
        417 if text.contains("same type") => Some("a line was sent as a quantity line for a service PO line, or the reverse; check the PO line's type in Coupa"),
        417 if text.contains("Extra shipping") => Some("the customer does not accept these shipping or handling charges; turn off header charges for this buyer or leave the charge rows out"),
        417 if text.trim().trim_end_matches('.') == "Invalid attributes in document" => Some("the invoice number was already used for this supplier in Coupa, or the PO belongs to another supplier; check the invoice in Coupa before doing anything else"),
        450 => Some("Coupa does not support the cXML version of the document"),
        500..=599 => Some("Coupa had a problem of its own; pobridge sends the invoice again later with the same number"),
        _ => None,
    };
    match advice {
        Some(advice) => format!("Coupa answered {code} \"{text}\": {advice}"),
        None => format!("Coupa answered {code} \"{text}\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_texts_get_advice() {
        let cases = [
            (302, "redirected to https://acme.coupahost.com/cxml/invoices", "does not follow redirects"),
            (401, "Invalid credentials", "invoicing credentials"),
            (417, "Invalid order/document reference. Could not find order header 123", "does not know the PO"),
            (417, "Invalid attributes in document.", "already used"),
            (417, "Invalid attributes in document. Extra shipping/handling/misc charges are not permitted", "header charges"),
            (503, "Service Unavailable", "sends the invoice again"),
            (429, "Too Many Requests", "sends it again later"),
            (404, "Not Found", "invoice URL"),
        ];
        for (code, text, advice) in cases {
            let explained = explain(code, text);
            assert!(explained.contains(text), "{explained}");
            assert!(explained.contains(advice), "{code} {text}: {explained}");
        }
    }

    #[test]
    fn unknown_text_is_kept_as_is() {
        assert_eq!(
            explain(499, "Something new"),
            "Coupa answered 499 \"Something new\""
        );
    }
}
