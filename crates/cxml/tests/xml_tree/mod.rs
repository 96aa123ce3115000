//! A small element tree read with quick-xml the way an XML 1.0 processor
//! reads a document without a DTD, so tests see what a buyer's parser sees.
//!
//! quick-xml leaves two steps of XML 1.0 to its caller, and this reader does
//! them: end-of-line handling (section 2.11: a literal CR LF or lone CR
//! becomes LF) and attribute-value normalization (section 3.3.3: a literal
//! tab, LF or CR in an attribute value becomes a space). Character
//! references such as `&#13;` are exempt from both.
#![allow(dead_code)]

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// An element with its attributes and children, values unescaped.
#[derive(Debug, Clone, PartialEq)]
pub struct XmlElement {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub children: Vec<XmlNode>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum XmlNode {
    Element(XmlElement),
    Text(String),
}

impl XmlElement {
    /// Returns the value of attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Returns the child elements named `name`, in document order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a XmlElement> + 'a {
        self.children.iter().filter_map(move |node| match node {
            XmlNode::Element(element) if element.name == name => Some(element),
            _ => None,
        })
    }

    /// Returns the first child element named `name`.
    pub fn child(&self, name: &str) -> Option<&XmlElement> {
        self.elements().find(|element| element.name == name)
    }

    /// Returns the child element at `path`, such as `["Header", "From"]`,
    /// and panics naming the path when it is missing.
    pub fn at(&self, path: &[&str]) -> &XmlElement {
        let mut element = self;
        for (depth, name) in path.iter().enumerate() {
            element = element.child(name).unwrap_or_else(|| {
                panic!("no <{}> under <{}>", path[..=depth].join("/"), self.name)
            });
        }
        element
    }

    /// Returns the text directly inside this element, skipping children.
    pub fn own_text(&self) -> String {
        self.children
            .iter()
            .filter_map(|node| match node {
                XmlNode::Text(text) => Some(text.as_str()),
                XmlNode::Element(_) => None,
            })
            .collect()
    }

    /// Returns the child elements in document order.
    pub fn elements(&self) -> impl Iterator<Item = &XmlElement> {
        self.children.iter().filter_map(|node| match node {
            XmlNode::Element(element) => Some(element),
            XmlNode::Text(_) => None,
        })
    }
}

/// Parses `xml` and returns its root element. Panics on anything that is
/// not well-formed, naming the quick-xml error.
pub fn parse(xml: &str) -> XmlElement {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(false);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<XmlElement> = Vec::new();
    let mut root = None;
    loop {
        let event = reader
            .read_event()
            .unwrap_or_else(|error| panic!("not well-formed: {error}\n{xml}"));
        match event {
            Event::Start(start) => stack.push(element(&start)),
            Event::Empty(start) => close(&mut stack, &mut root, element(&start)),
            Event::End(_) => {
                let element = stack.pop().expect("an end tag closes an open element");
                close(&mut stack, &mut root, element);
            }
            Event::Text(text) => {
                let raw = std::str::from_utf8(text.as_ref()).expect("the input is a str");
                let unescaped = quick_xml::escape::unescape(&end_of_lines(raw))
                    .unwrap_or_else(|error| panic!("bad reference: {error}"))
                    .into_owned();
                push_text(&mut stack, unescaped);
            }
            Event::CData(cdata) => {
                let raw = std::str::from_utf8(cdata.as_ref()).expect("the input is a str");
                push_text(&mut stack, end_of_lines(raw));
            }
            Event::Eof => break,
            Event::Decl(_) | Event::DocType(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    root.expect("a root element")
}

fn element(start: &BytesStart<'_>) -> XmlElement {
    let name = std::str::from_utf8(start.name().as_ref())
        .expect("names are UTF-8")
        .to_string();
    let attributes = start
        .attributes()
        .map(|attribute| {
            let attribute = attribute.unwrap_or_else(|error| panic!("bad attribute: {error}"));
            let key = std::str::from_utf8(attribute.key.as_ref())
                .expect("names are UTF-8")
                .to_string();
            let raw = std::str::from_utf8(&attribute.value).expect("the input is a str");
            let normalized: String = end_of_lines(raw)
                .chars()
                .map(|character| match character {
                    '\t' | '\n' => ' ',
                    other => other,
                })
                .collect();
            let value = quick_xml::escape::unescape(&normalized)
                .unwrap_or_else(|error| panic!("bad reference in {key}: {error}"))
                .into_owned();
            (key, value)
        })
        .collect();
    XmlElement {
        name,
        attributes,
        children: Vec::new(),
    }
}

fn close(stack: &mut [XmlElement], root: &mut Option<XmlElement>, element: XmlElement) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(XmlNode::Element(element)),
        None => {
            assert!(root.is_none(), "a second root element <{}>", element.name);
            *root = Some(element);
        }
    }
}

fn push_text(stack: &mut [XmlElement], text: String) {
    let Some(parent) = stack.last_mut() else {
        assert!(text.trim().is_empty(), "text outside the root: {text:?}");
        return;
    };
    if let Some(XmlNode::Text(previous)) = parent.children.last_mut() {
        previous.push_str(&text);
    } else {
        parent.children.push(XmlNode::Text(text));
    }
}

/// Applies XML 1.0 end-of-line handling to raw markup.
fn end_of_lines(raw: &str) -> String {
    raw.replace("\r\n", "\n").replace('\r', "\n")
}
