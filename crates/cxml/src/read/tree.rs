//! Builds a small element tree from quick-xml events, enforcing the limits
//! while streaming so hostile input is rejected before it costs much.

use std::borrow::Cow;
use std::ops::Range;

use quick_xml::errors::IllFormedError;
use quick_xml::escape::EscapeError;
use quick_xml::events::attributes::{Attribute, Attributes};
use quick_xml::events::{BytesStart, BytesText, Event};
use quick_xml::Reader;

use super::Limits;
use crate::error::{shown, ReadError};

/// Elements whose text is secret: errors inside them never quote content.
const SECRET_ELEMENTS: [&str; 3] = ["SharedSecret", "CredentialMac", "DigitalSignature"];

/// An element with its local name, attributes and children. Names, and
/// text or attribute values without references, borrow the decoded text,
/// so a large document costs few allocations.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Element<'a> {
    /// The local name: a namespace prefix is dropped.
    pub name: &'a str,
    /// Attributes by qualified name (`xml:lang` keeps its prefix), values
    /// unescaped.
    pub attributes: AttributeList<'a>,
    pub children: Box<[Node<'a>]>,
    /// Byte range of the content between the start and end tags in the
    /// decoded text.
    pub inner: Range<usize>,
}

/// Attribute name and value pairs in a slice of exact length, because a
/// large order has one list per element.
pub(crate) type AttributeList<'a> = Box<[(&'a str, Cow<'a, str>)]>;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node<'a> {
    /// Boxed so that a text node, which most elements have between their
    /// children, takes 24 bytes rather than the size of an element.
    Element(Box<Element<'a>>),
    /// Text and CDATA, with entity and character references resolved.
    Text(Cow<'a, str>),
}

impl<'a> Element<'a> {
    /// Returns the value of attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_ref())
    }

    /// Returns the child elements in document order.
    pub fn elements(&self) -> impl Iterator<Item = &Element<'a>> {
        self.children.iter().filter_map(|node| match node {
            Node::Element(element) => Some(element.as_ref()),
            Node::Text(_) => None,
        })
    }

    /// Returns the child elements in document order, for taking parts out.
    pub fn elements_mut(&mut self) -> impl Iterator<Item = &mut Element<'a>> {
        self.children.iter_mut().filter_map(|node| match node {
            Node::Element(element) => Some(element.as_mut()),
            Node::Text(_) => None,
        })
    }

    /// Returns the child elements named `name`.
    pub fn all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Element<'a>> + 's {
        self.elements().filter(move |element| element.name == name)
    }

    /// Returns the first child element named `name`, wherever it is among
    /// its siblings.
    pub fn child(&self, name: &str) -> Option<&Element<'a>> {
        self.elements().find(|element| element.name == name)
    }

    /// Returns the text directly inside this element, skipping children.
    pub fn own_text(&self) -> String {
        let mut text = String::new();
        for node in &self.children {
            if let Node::Text(part) = node {
                text.push_str(part);
            }
        }
        text
    }

    /// Returns all text inside this element, children included.
    pub fn text(&self) -> String {
        let mut text = String::new();
        self.collect_text(&mut text);
        text
    }

    fn collect_text(&self, text: &mut String) {
        for node in &self.children {
            match node {
                Node::Text(part) => text.push_str(part),
                Node::Element(element) => element.collect_text(text),
            }
        }
    }

    /// Returns the text of the first child named `name`.
    pub fn child_text(&self, name: &str) -> Option<String> {
        self.child(name).map(Element::text)
    }
}

/// Parses `text` into the tree under its root element.
pub(crate) fn parse<'a>(text: &'a str, limits: &Limits) -> Result<Element<'a>, ReadError> {
    let mut builder = Builder {
        text,
        limits,
        stack: Vec::new(),
        pending: Vec::new(),
        attribute_buffer: Vec::new(),
        root: None,
        item_outs: 0,
    };
    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    config.trim_text(false);
    config.expand_empty_elements = false;
    config.check_end_names = true;
    // `--` inside a comment is not well-formed, but rejecting an order over
    // a comment would gain nothing, so comments are not checked.
    config.check_comments = false;

    loop {
        let before = position(reader.buffer_position());
        let event = reader
            .read_event()
            .map_err(|error| builder.malformed(position(reader.error_position()), error))?;
        let after = position(reader.buffer_position());
        if builder.take(event, before, after)? {
            break;
        }
    }
    builder.finish()
}

fn position(offset: u64) -> usize {
    usize::try_from(offset).unwrap_or(usize::MAX)
}

struct Builder<'a, 'l> {
    text: &'a str,
    limits: &'l Limits,
    /// Open elements with the index in `pending` where their children start.
    stack: Vec<(Element<'a>, usize)>,
    /// Children of all open elements, innermost last. An element's children
    /// move into one allocation of the right size when it closes, which
    /// avoids growing a vector per element.
    pending: Vec<Node<'a>>,
    /// Reused while reading the attributes of each start tag.
    attribute_buffer: Vec<(&'a str, Cow<'a, str>)>,
    root: Option<Element<'a>>,
    item_outs: usize,
}

impl<'a> Builder<'a, '_> {
    /// Handles one event; returns true at the end of input.
    fn take(&mut self, event: Event<'a>, before: usize, after: usize) -> Result<bool, ReadError> {
        match event {
            Event::Start(start) => self.open(&start, before, after)?,
            Event::Empty(start) => {
                self.open(&start, before, after)?;
                self.close(after)?;
            }
            Event::End(_) => self.close(before)?,
            Event::Text(text) => self.add_text(text, before)?,
            Event::CData(cdata) => {
                let content = String::from_utf8_lossy(&cdata.into_inner()).into_owned();
                self.add_str(Cow::Owned(content), before)?;
            }
            Event::DocType(doctype) => self.check_doctype(&doctype, before)?,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => return Ok(true),
        }
        Ok(false)
    }

    fn open(
        &mut self,
        start: &BytesStart<'_>,
        before: usize,
        after: usize,
    ) -> Result<(), ReadError> {
        let tag = self.tag_content(start, before)?;
        let qualified_name = &tag[..start.name().as_ref().len()];
        // The same rule as quick-xml's `local_name`: drop up to the first `:`.
        let name = qualified_name
            .split_once(':')
            .map_or(qualified_name, |(_, local)| local);
        if self.root.is_some() {
            let message = format!("a second root element {}", self.shown_name(name));
            return Err(self.not_well_formed(before, message));
        }
        if self.stack.is_empty() && name != "cXML" {
            return Err(ReadError::NotCxml {
                root: truncate(name),
            });
        }
        if self.stack.len() >= self.limits.max_depth {
            return Err(ReadError::LimitExceeded {
                measured: format!(
                    "element nesting depth at {} ({})",
                    self.shown_name(name),
                    self.place(before)
                ),
                max: self.limits.max_depth,
            });
        }
        if name == "ItemOut" {
            self.item_outs += 1;
            if self.item_outs > self.limits.max_item_out {
                return Err(ReadError::LimitExceeded {
                    measured: "the number of ItemOut elements".to_string(),
                    max: self.limits.max_item_out,
                });
            }
        }
        let attributes = self.attributes(tag, qualified_name.len(), name, before)?;
        let element = Element {
            name,
            attributes,
            children: Box::default(),
            inner: after..after,
        };
        self.stack.push((element, self.pending.len()));
        Ok(())
    }

    /// Returns the text between `<` and `>` (or `/>`) of a start tag as a
    /// slice of the document, so names and attribute values can borrow it.
    fn tag_content(&self, start: &BytesStart<'_>, before: usize) -> Result<&'a str, ReadError> {
        let name = start.name();
        let name = name.as_ref();
        let attributes = start.attributes_raw();
        let begin = before + 1;
        let end = begin + name.len() + attributes.len();
        // quick-xml 0.37 starts each event at the buffer position read before
        // it, so the tag is at `before + 1`. The check turns a mismatch into
        // an error rather than a wrong tree.
        let matches = self.text.get(begin..end).is_some_and(|tag| {
            tag.as_bytes().starts_with(name) && tag.as_bytes().ends_with(attributes)
        });
        if !matches {
            return Err(
                self.not_well_formed(before, "a start tag that could not be located".into())
            );
        }
        Ok(&self.text[begin..end])
    }

    /// Names an element in a message, without quoting it inside a secret.
    fn shown_name(&self, name: &str) -> String {
        if self.in_secret() {
            "an element inside a secret".to_string()
        } else {
            format!("<{}>", truncate(name))
        }
    }

    fn attributes(
        &mut self,
        tag: &'a str,
        name_length: usize,
        element: &str,
        offset: usize,
    ) -> Result<AttributeList<'a>, ReadError> {
        let mut buffer = std::mem::take(&mut self.attribute_buffer);
        for attribute in Attributes::new(tag, name_length) {
            let attribute = attribute.map_err(|error| {
                let message = format!("invalid attribute in <{}>: {error}", truncate(element));
                self.not_well_formed(offset, message)
            })?;
            buffer.push(self.attribute(attribute, element, offset)?);
        }
        // One allocation of the right size, and none without attributes.
        let mut attributes = Vec::with_capacity(buffer.len());
        attributes.append(&mut buffer);
        self.attribute_buffer = buffer;
        Ok(attributes.into_boxed_slice())
    }

    fn attribute(
        &self,
        attribute: Attribute<'a>,
        element: &str,
        offset: usize,
    ) -> Result<(&'a str, Cow<'a, str>), ReadError> {
        let key = self.borrowed_str(attribute.key.into_inner(), offset)?;
        let location = || format!("attribute {} of <{}>", truncate(key), truncate(element));
        if attribute.value.len() > self.limits.max_attribute_bytes {
            return Err(ReadError::LimitExceeded {
                measured: format!(
                    "{} ({}, {} bytes)",
                    location(),
                    self.place(offset),
                    attribute.value.len()
                ),
                max: self.limits.max_attribute_bytes,
            });
        }
        let secret = element == "PCard";
        let value = unescape(cow_str(attribute.value))
            .map_err(|error| self.bad_reference(offset, &location(), &error, secret))?;
        Ok((key, value))
    }

    /// Converts bytes that quick-xml sliced from the document back to text.
    /// They always start and end at ASCII delimiters, so they are UTF-8.
    fn borrowed_str(&self, bytes: &'a [u8], offset: usize) -> Result<&'a str, ReadError> {
        std::str::from_utf8(bytes)
            .map_err(|_| self.not_well_formed(offset, "a name that is not UTF-8".into()))
    }

    fn close(&mut self, before: usize) -> Result<(), ReadError> {
        let Some((mut element, children_start)) = self.stack.pop() else {
            return Err(self.not_well_formed(before, "an end tag without a start tag".into()));
        };
        element.inner.end = before.max(element.inner.start);
        element.children = self.pending.drain(children_start..).collect();
        if self.stack.is_empty() {
            self.root = Some(element);
        } else {
            self.pending.push(Node::Element(Box::new(element)));
        }
        Ok(())
    }

    fn add_text(&mut self, text: BytesText<'a>, before: usize) -> Result<(), ReadError> {
        let content = unescape(cow_str(text.into_inner())).map_err(|error| {
            let location = match self.stack.last() {
                Some((element, _)) => format!("text of <{}>", truncate(element.name)),
                None => "text outside the root element".to_string(),
            };
            self.bad_reference(before, &location, &error, self.in_secret())
        })?;
        self.add_str(content, before)
    }

    fn add_str(&mut self, content: Cow<'a, str>, before: usize) -> Result<(), ReadError> {
        let Some((_, children_start)) = self.stack.last() else {
            if content.trim().is_empty() {
                return Ok(());
            }
            return Err(self.not_well_formed(
                before,
                "text outside the root element; expected an XML document such as <cXML ...>".into(),
            ));
        };
        let has_children = self.pending.len() > *children_start;
        match self.pending.last_mut() {
            Some(Node::Text(previous)) if has_children => previous.to_mut().push_str(&content),
            _ => self.pending.push(Node::Text(content)),
        }
        Ok(())
    }

    /// Accepts a DOCTYPE that only names an external DTD (never fetched) and
    /// rejects any internal subset that declares entities, so no entity can
    /// expand or reach outside the document.
    fn check_doctype(&self, doctype: &BytesText<'_>, before: usize) -> Result<(), ReadError> {
        if !self.stack.is_empty() || self.root.is_some() {
            return Err(
                self.not_well_formed(before, "a DOCTYPE after the root element starts".into())
            );
        }
        let content = doctype.as_ref();
        let declares_entity = content
            .windows(8)
            .any(|window| window.eq_ignore_ascii_case(b"<!ENTITY"));
        if declares_entity {
            return Err(ReadError::ForbiddenDtd {
                construct: "an entity declaration (<!ENTITY ...>) in the DOCTYPE".to_string(),
            });
        }
        Ok(())
    }

    fn finish(self) -> Result<Element<'a>, ReadError> {
        if let Some((open, _)) = self.stack.last() {
            let message = format!("the document ends before </{}>", truncate(open.name));
            return Err(self.not_well_formed(self.text.len(), message));
        }
        match self.root {
            Some(root) => Ok(root),
            None => Err(self.not_well_formed(
                self.text.len(),
                "no root element; expected a cXML document".into(),
            )),
        }
    }

    fn bad_reference(
        &self,
        offset: usize,
        location: &str,
        error: &EscapeError,
        secret: bool,
    ) -> ReadError {
        let detail = match error {
            EscapeError::UnrecognizedEntity(_, entity) if !secret => format!(
                "unknown entity reference &{};, only &amp; &lt; &gt; &quot; &apos; and character references are allowed",
                shown(entity).trim_matches('"')
            ),
            EscapeError::UnrecognizedEntity(..) => {
                "unknown entity reference, only &amp; &lt; &gt; &quot; &apos; and character references are allowed".to_string()
            }
            EscapeError::UnterminatedEntity(_) => {
                "'&' without a closing ';', write a literal & as &amp;".to_string()
            }
            EscapeError::InvalidCharRef(_) => "invalid character reference".to_string(),
        };
        self.not_well_formed(offset, format!("{location}: {detail}"))
    }

    fn malformed(&self, offset: usize, error: quick_xml::Error) -> ReadError {
        // quick-xml quotes tag names, which inside a secret may be pieces of
        // the secret.
        if self.in_secret() {
            let message = "malformed markup inside a secret element (not shown)".to_string();
            return self.not_well_formed(offset, message);
        }
        self.not_well_formed(offset, describe_syntax_error(&error))
    }

    /// Returns true inside `SharedSecret` and the other secret elements.
    fn in_secret(&self) -> bool {
        self.stack
            .iter()
            .any(|(element, _)| SECRET_ELEMENTS.contains(&element.name))
    }

    fn not_well_formed(&self, offset: usize, message: String) -> ReadError {
        let (line, column) = line_and_column(self.text, offset);
        ReadError::NotWellFormed {
            line,
            column,
            message,
        }
    }

    fn place(&self, offset: usize) -> String {
        let (line, column) = line_and_column(self.text, offset);
        format!("line {line}, column {column}")
    }
}

/// Converts text that quick-xml read from the document, borrowing it when
/// quick-xml did.
fn cow_str(bytes: Cow<'_, [u8]>) -> Cow<'_, str> {
    match bytes {
        // `from_utf8` is faster than `from_utf8_lossy` on valid text, and
        // text sliced from a `str` at ASCII delimiters is always valid.
        Cow::Borrowed(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(bytes),
        },
        Cow::Owned(bytes) => Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()),
    }
}

/// Resolves entity and character references, borrowing text without any.
fn unescape(raw: Cow<'_, str>) -> Result<Cow<'_, str>, EscapeError> {
    match raw {
        Cow::Borrowed(raw) => quick_xml::escape::unescape(raw),
        Cow::Owned(raw) => Ok(Cow::Owned(quick_xml::escape::unescape(&raw)?.into_owned())),
    }
}

/// Describes a quick-xml error, quoting at most a short piece of the input.
/// quick-xml quotes tag names whole, and what it takes for the name of an
/// end tag is everything from `</` to the next `>`, however long.
fn describe_syntax_error(error: &quick_xml::Error) -> String {
    let ill_formed = match error {
        quick_xml::Error::IllFormed(ill_formed) => ill_formed,
        other => return other.to_string(),
    };
    let detail = match ill_formed {
        IllFormedError::MismatchedEndTag { expected, found } => format!(
            "expected </{}>, but found the end tag {}",
            truncate(expected),
            shown(found)
        ),
        IllFormedError::UnmatchedEndTag(found) => {
            format!("the end tag {} matches no open tag", shown(found))
        }
        IllFormedError::MissingEndTag(name) => {
            format!("<{}> is not closed before the end of input", truncate(name))
        }
        IllFormedError::MissingDeclVersion(Some(found)) => format!(
            "an XML declaration must start with version, but it starts with {}",
            shown(found)
        ),
        other => other.to_string(),
    };
    format!("ill-formed document: {detail}")
}

/// Cuts a name from the input to 64 characters for an error message.
fn truncate(name: &str) -> String {
    if name.chars().count() <= 64 {
        return name.to_string();
    }
    let head: String = name.chars().take(64).collect();
    format!("{head}...")
}

/// Returns the 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> Result<Element<'_>, ReadError> {
        parse(text, &Limits::default())
    }

    #[test]
    fn inner_range_covers_content_exactly() {
        let text = "<cXML><a x='1'> <b/>t&amp;</a><c/></cXML>";
        let root = tree(text).unwrap();
        let a = root.child("a").unwrap();
        assert_eq!(&text[a.inner.clone()], " <b/>t&amp;");
        assert_eq!(a.text(), " t&");
        let c = root.child("c").unwrap();
        assert_eq!(&text[c.inner.clone()], "");
    }

    #[test]
    fn namespace_prefixes_are_dropped_from_names() {
        let root = tree("<x:cXML xmlns:x='urn:x'><x:Request/></x:cXML>").unwrap();
        assert_eq!(root.name, "cXML");
        assert!(root.child("Request").is_some());
    }

    #[test]
    fn malformed_secret_content_is_not_quoted() {
        let error = tree("<cXML><SharedSecret>pa<ss</SharedSecret></cXML>").unwrap_err();
        let message = error.to_string();
        assert!(!message.contains("ss"), "{message}");
        assert!(message.contains("secret"), "{message}");
    }

    #[test]
    fn long_root_names_are_truncated() {
        let name = "r".repeat(1000);
        let error = tree(&format!("<{name}/>")).unwrap_err();
        let ReadError::NotCxml { root } = error else {
            panic!("{error:?}");
        };
        assert_eq!(root.len(), 67);
    }

    #[test]
    fn line_and_column_count_characters() {
        assert_eq!(line_and_column("ab\ncé", 6), (2, 3));
        assert_eq!(line_and_column("ab\ncé", 5), (2, 2));
        assert_eq!(line_and_column("abc", 0), (1, 1));
        assert_eq!(line_and_column("abc", 99), (1, 4));
    }

    #[test]
    fn second_root_and_trailing_text_are_rejected() {
        assert!(tree("<cXML/><cXML/>").is_err());
        assert!(tree("<cXML/>junk").is_err());
        assert!(tree("junk<cXML/>").is_err());
    }
}
