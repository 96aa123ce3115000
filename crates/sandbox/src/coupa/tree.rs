//! Reading a posted cXML document into an element tree, with the prolog
//! rules Coupa applies to invoices: well-formed UTF-8, and a DOCTYPE on
//! line 2 naming a cXML 1.2.x `InvoiceDetail.dtd`.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// Deeper nesting than this is refused as unparsable, so the recursive
/// checks that walk the tree stay within the stack. Real invoices nest
/// about 10 levels.
const MAX_DEPTH: usize = 64;

/// One element: its name as written, attributes, child elements in order
/// and the concatenation of its text (comments and processing
/// instructions dropped).
#[derive(Debug, Clone, Default)]
pub(crate) struct Element {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|child| child.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |child| child.name == name)
    }

    /// Returns the descendant at `path`, following the first child of each
    /// name.
    pub fn find(&self, path: &[&str]) -> Option<&Element> {
        path.iter()
            .try_fold(self, |element, name| element.child(name))
    }
}

/// Reason a body is not a readable cXML invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReadFailure {
    /// Not well-formed, not UTF-8, too deep, or without a DOCTYPE on line 2.
    Unparsable,
    /// The DOCTYPE names something other than a cXML 1.2.x InvoiceDetail DTD.
    UnsupportedVersion,
}

/// Parses `body` into its root element and checks the DOCTYPE.
pub(crate) fn read(body: &[u8]) -> Result<Element, ReadFailure> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let text = std::str::from_utf8(body).map_err(|_| ReadFailure::Unparsable)?;
    let (root, doctype) = parse(text)?;

    let Some(doctype) = doctype else {
        return Err(ReadFailure::Unparsable);
    };
    if doctype.line != 2 {
        return Err(ReadFailure::Unparsable);
    }
    if !is_invoice_detail_1_2(&doctype.content) {
        return Err(ReadFailure::UnsupportedVersion);
    }
    Ok(root)
}

pub(super) struct Doctype {
    /// 1-based line the `<!DOCTYPE` starts on.
    line: usize,
    content: String,
}

/// Parses a document into its root and DOCTYPE, without the DOCTYPE rules.
pub(super) fn parse(text: &str) -> Result<(Element, Option<Doctype>), ReadFailure> {
    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    config.trim_text(false);
    config.check_end_names = true;

    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    let mut doctype = None;
    loop {
        let before = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = reader.read_event().map_err(|_| ReadFailure::Unparsable)?;
        match event {
            Event::Start(start) => {
                if root.is_some() || stack.len() >= MAX_DEPTH {
                    return Err(ReadFailure::Unparsable);
                }
                stack.push(open(&start)?);
            }
            Event::Empty(start) => {
                let element = open(&start)?;
                close(element, &mut stack, &mut root)?;
            }
            Event::End(_) => {
                let element = stack.pop().ok_or(ReadFailure::Unparsable)?;
                close(element, &mut stack, &mut root)?;
            }
            Event::Text(raw) => {
                let raw = String::from_utf8_lossy(raw.as_ref());
                let content =
                    quick_xml::escape::unescape(&raw).map_err(|_| ReadFailure::Unparsable)?;
                add_text(&content, &mut stack)?;
            }
            Event::CData(cdata) => {
                add_text(&String::from_utf8_lossy(&cdata.into_inner()), &mut stack)?;
            }
            Event::DocType(content) => {
                if doctype.is_some() || root.is_some() || !stack.is_empty() {
                    return Err(ReadFailure::Unparsable);
                }
                doctype = Some(Doctype {
                    line: text[..before.min(text.len())].matches('\n').count() + 1,
                    content: String::from_utf8_lossy(content.as_ref()).into_owned(),
                });
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(ReadFailure::Unparsable);
    }
    let root = root.ok_or(ReadFailure::Unparsable)?;
    Ok((root, doctype))
}

fn open(start: &BytesStart<'_>) -> Result<Element, ReadFailure> {
    let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|_| ReadFailure::Unparsable)?;
        let key = String::from_utf8_lossy(attribute.key.as_ref()).into_owned();
        let raw = String::from_utf8_lossy(&attribute.value);
        let value = quick_xml::escape::unescape(&raw).map_err(|_| ReadFailure::Unparsable)?;
        attributes.push((key, value.into_owned()));
    }
    Ok(Element {
        name,
        attributes,
        ..Element::default()
    })
}

fn close(
    element: Element,
    stack: &mut [Element],
    root: &mut Option<Element>,
) -> Result<(), ReadFailure> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None if root.is_none() => *root = Some(element),
        None => return Err(ReadFailure::Unparsable),
    }
    Ok(())
}

fn add_text(content: &str, stack: &mut [Element]) -> Result<(), ReadFailure> {
    match stack.last_mut() {
        Some(parent) => parent.text.push_str(content),
        None if content.trim().is_empty() => {}
        None => return Err(ReadFailure::Unparsable),
    }
    Ok(())
}

/// True for `cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.NNN/InvoiceDetail.dtd"`,
/// host and path in any case, `https` allowed.
fn is_invoice_detail_1_2(content: &str) -> bool {
    let mut words = content.split_whitespace();
    if words.next() != Some("cXML") || words.next() != Some("SYSTEM") {
        return false;
    }
    let literal = words.collect::<Vec<_>>().join(" ");
    let Some(url) = unquote(&literal) else {
        return false;
    };
    let url = url.to_ascii_lowercase();
    let path = url
        .strip_prefix("http://xml.cxml.org/schemas/cxml/")
        .or_else(|| url.strip_prefix("https://xml.cxml.org/schemas/cxml/"));
    let Some(version) = path.and_then(|p| p.strip_suffix("/invoicedetail.dtd")) else {
        return false;
    };
    version
        .strip_prefix("1.2.")
        .is_some_and(|minor| !minor.is_empty() && minor.bytes().all(|b| b.is_ascii_digit()))
}

/// Returns the text of a literal quoted with `"` or `'`, with nothing
/// after it.
fn unquote(literal: &str) -> Option<&str> {
    let quote = literal.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    literal[1..].strip_suffix(quote)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(doctype: &str) -> String {
        format!("<?xml version=\"1.0\"?>\n{doctype}\n<cXML><Header/></cXML>")
    }

    const INVOICE_DTD: &str =
        "<!DOCTYPE cXML SYSTEM \"http://xml.cXML.org/schemas/cXML/1.2.020/InvoiceDetail.dtd\">";

    #[test]
    fn invoice_dtd_on_line_two_reads() {
        let root = read(doc(INVOICE_DTD).as_bytes()).unwrap();
        assert_eq!(root.name, "cXML");
        assert_eq!(root.children[0].name, "Header");
    }

    #[test]
    fn missing_or_misplaced_doctype_is_unparsable() {
        let none = "<?xml version=\"1.0\"?>\n<cXML/>";
        assert_eq!(read(none.as_bytes()).unwrap_err(), ReadFailure::Unparsable);
        let line_three = format!("<?xml version=\"1.0\"?>\n\n{INVOICE_DTD}\n<cXML/>");
        assert_eq!(
            read(line_three.as_bytes()).unwrap_err(),
            ReadFailure::Unparsable
        );
    }

    #[test]
    fn other_dtds_are_unsupported_versions() {
        for doctype in [
            "<!DOCTYPE cXML SYSTEM \"http://xml.cxml.org/schemas/cXML/1.2.020/cXML.dtd\">",
            "<!DOCTYPE cXML SYSTEM \"http://xml.cxml.org/schemas/cXML/1.1.010/InvoiceDetail.dtd\">",
            "<!DOCTYPE cXML SYSTEM \"InvoiceDetail.dtd\">",
        ] {
            assert_eq!(
                read(doc(doctype).as_bytes()).unwrap_err(),
                ReadFailure::UnsupportedVersion,
                "{doctype}"
            );
        }
    }

    #[test]
    fn raw_ampersand_is_unparsable() {
        let body = doc(INVOICE_DTD).replace("<Header/>", "<Header>a & b</Header>");
        assert_eq!(read(body.as_bytes()).unwrap_err(), ReadFailure::Unparsable);
    }

    #[test]
    fn comments_and_cdata_are_tolerated() {
        let body = doc(INVOICE_DTD).replace(
            "<Header/>",
            "<!-- note --><Header><![CDATA[x<y]]><!-- c --></Header>",
        );
        let root = read(body.as_bytes()).unwrap();
        assert_eq!(root.children[0].text, "x<y");
    }
}
