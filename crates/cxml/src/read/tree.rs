//! Builds the element tree from quick-xml events, enforcing the limits
//! while streaming so hostile input is rejected before it costs much.

use std::borrow::Cow;

use quick_xml::errors::IllFormedError;
use quick_xml::escape::EscapeError;
use quick_xml::events::attributes::{Attribute, Attributes};
use quick_xml::events::{BytesStart, BytesText, Event};
use quick_xml::Reader;

use super::element::{Element, Tree};
use super::Limits;
use crate::error::{shown, ReadError};

/// Elements whose text is secret: errors inside them never quote content.
const SECRET_ELEMENTS: [&str; 3] = ["SharedSecret", "CredentialMac", "DigitalSignature"];

/// Parses `text` into a tree whose root element has index 0. The order is
/// the `OrderRequest` that is the first element of the document's `Request`.
/// Each of its `ItemOut`s goes to `on_item` when its end tag is read and then
/// leaves the tree, so a large order never exists as a tree all at once.
pub(crate) fn parse<'a, F>(
    text: &'a str,
    limits: &Limits,
    on_item: F,
) -> Result<Tree<'a>, ReadError>
where
    F: FnMut(Element<'_, 'a>),
{
    let mut builder = Builder {
        text,
        limits,
        tree: Tree::default(),
        stack: Vec::new(),
        root_closed: false,
        item_outs: 0,
        body: None,
        request_has_element: false,
        order: None,
        on_item,
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

/// An element whose end tag is not read yet.
struct Open {
    index: usize,
    /// The last child added so far.
    last_child: Option<usize>,
    /// The sibling before this element, to unlink a streamed `ItemOut`.
    previous_sibling: Option<usize>,
}

struct Builder<'a, 'l, F> {
    text: &'a str,
    limits: &'l Limits,
    tree: Tree<'a>,
    stack: Vec<Open>,
    root_closed: bool,
    item_outs: usize,
    /// The first `Request`, `Response` or `Message` under the root, and
    /// whether it is a `Request`.
    body: Option<(usize, bool)>,
    request_has_element: bool,
    /// The `OrderRequest` whose `ItemOut` children go to `on_item`.
    order: Option<usize>,
    on_item: F,
}

impl<'a, F> Builder<'a, '_, F>
where
    F: FnMut(Element<'_, 'a>),
{
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
        // A byte search costs less than `split_once` on names this short.
        let name = match qualified_name.bytes().position(|byte| byte == b':') {
            Some(colon) => &qualified_name[colon + 1..],
            None => qualified_name,
        };
        if self.root_closed {
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
        let attributes_start = self.tree.attribute_count();
        self.attributes(tag, qualified_name.len(), name, before)?;
        let index = self.tree.push_element(name, attributes_start, after);
        self.track_order(name, index);
        let previous_sibling = self.append(index);
        self.stack.push(Open {
            index,
            last_child: None,
            previous_sibling,
        });
        Ok(())
    }

    /// Notes the body element and the order in it, by the same rules the
    /// envelope is read with: the first `Request`, `Response` or `Message`
    /// under the root, and the first element of that `Request`.
    fn track_order(&mut self, name: &str, index: usize) {
        let parent = self.stack.last().map(|open| open.index);
        match self.stack.len() {
            1 if self.body.is_none() && matches!(name, "Request" | "Response" | "Message") => {
                self.body = Some((index, name == "Request"));
            }
            2 if !self.request_has_element && self.body == parent.map(|parent| (parent, true)) => {
                self.request_has_element = true;
                if name == "OrderRequest" {
                    self.order = Some(index);
                }
            }
            _ => {}
        }
    }

    /// Makes node `index` the last child of the innermost open element and
    /// returns the child it follows.
    fn append(&mut self, index: usize) -> Option<usize> {
        let parent = self.stack.last_mut()?;
        let previous = parent.last_child;
        self.tree.link(parent.index, previous, Some(index));
        parent.last_child = Some(index);
        previous
    }

    /// Returns the text between `<` and `>` (or `/>`) of a start tag as a
    /// slice of the document, so names and attribute values can borrow it.
    fn tag_content(&self, start: &BytesStart<'_>, before: usize) -> Result<&'a str, ReadError> {
        // quick-xml 0.37 starts each event at the buffer position read before
        // it, so the tag is at `before + 1`. The check turns a mismatch into
        // an error rather than a wrong tree.
        match self.document_str(start) {
            Some(tag) if before + 1 == tag.as_ptr() as usize - self.text.as_ptr() as usize => {
                Ok(tag)
            }
            _ => Err(self.not_well_formed(before, "a start tag that could not be located".into())),
        }
    }

    /// Returns `bytes`, which quick-xml sliced from the document, as the
    /// same part of the document's text. Slicing the text again costs less
    /// than checking the bytes are UTF-8, and is `None` for bytes that are
    /// not part of the document.
    fn document_str(&self, bytes: &[u8]) -> Option<&'a str> {
        let start = (bytes.as_ptr() as usize).checked_sub(self.text.as_ptr() as usize)?;
        self.text.get(start..start.checked_add(bytes.len())?)
    }

    /// Names an element in a message, without quoting it inside a secret.
    fn shown_name(&self, name: &str) -> String {
        if self.in_secret() {
            "an element inside a secret".to_string()
        } else {
            format!("<{}>", truncate(name))
        }
    }

    /// Adds the attributes of a start tag to the tree.
    fn attributes(
        &mut self,
        tag: &'a str,
        name_length: usize,
        element: &str,
        offset: usize,
    ) -> Result<(), ReadError> {
        for (index, attribute) in Attributes::new(tag, name_length).enumerate() {
            if index == self.limits.max_attributes {
                return Err(ReadError::LimitExceeded {
                    measured: format!(
                        "the number of attributes of <{}> ({})",
                        truncate(element),
                        self.place(offset)
                    ),
                    max: self.limits.max_attributes,
                });
            }
            let attribute = attribute.map_err(|error| {
                let message = format!("invalid attribute in <{}>: {error}", truncate(element));
                self.not_well_formed(offset, message)
            })?;
            let (key, value) = self.attribute(attribute, element, offset)?;
            self.tree.push_attribute(key, value);
        }
        Ok(())
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
        let value = unescape(self.cow_str(attribute.value))
            .map_err(|error| self.bad_reference(offset, &location(), &error, secret))?;
        Ok((key, value))
    }

    /// Converts bytes that quick-xml sliced from the document back to text.
    /// They always start and end at ASCII delimiters, so they are UTF-8.
    fn borrowed_str(&self, bytes: &'a [u8], offset: usize) -> Result<&'a str, ReadError> {
        self.document_str(bytes)
            .or_else(|| std::str::from_utf8(bytes).ok())
            .ok_or_else(|| self.not_well_formed(offset, "a name that is not UTF-8".into()))
    }

    /// Converts text that quick-xml read from the document, borrowing it
    /// when quick-xml did.
    fn cow_str(&self, bytes: Cow<'a, [u8]>) -> Cow<'a, str> {
        match bytes {
            Cow::Borrowed(bytes) => match self.document_str(bytes) {
                Some(text) => Cow::Borrowed(text),
                None => String::from_utf8_lossy(bytes),
            },
            Cow::Owned(bytes) => Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()),
        }
    }

    fn close(&mut self, before: usize) -> Result<(), ReadError> {
        let Some(open) = self.stack.pop() else {
            return Err(self.not_well_formed(before, "an end tag without a start tag".into()));
        };
        self.tree.close(open.index, before);
        let Some(parent) = self.stack.last_mut() else {
            self.root_closed = true;
            return Ok(());
        };
        if Some(parent.index) == self.order && self.tree.element(open.index).name() == "ItemOut" {
            (self.on_item)(self.tree.element(open.index));
            self.tree.truncate(open.index);
            self.tree.link(parent.index, open.previous_sibling, None);
            parent.last_child = open.previous_sibling;
        }
        Ok(())
    }

    fn add_text(&mut self, text: BytesText<'a>, before: usize) -> Result<(), ReadError> {
        let content = unescape(self.cow_str(text.into_inner())).map_err(|error| {
            let location = match self.stack.last() {
                Some(open) => format!("text of <{}>", truncate(self.name_of(open))),
                None => "text outside the root element".to_string(),
            };
            self.bad_reference(before, &location, &error, self.in_secret())
        })?;
        self.add_str(content, before)
    }

    fn add_str(&mut self, content: Cow<'a, str>, before: usize) -> Result<(), ReadError> {
        let Some(parent) = self.stack.last() else {
            if content.trim().is_empty() {
                return Ok(());
            }
            return Err(self.not_well_formed(
                before,
                "text outside the root element; expected an XML document such as <cXML ...>".into(),
            ));
        };
        // Nothing reads the text between the lines of an order, and keeping
        // it would leave a node per line in the tree.
        if Some(parent.index) == self.order {
            return Ok(());
        }
        let index = self.tree.push_text(content);
        self.append(index);
        Ok(())
    }

    /// Accepts a DOCTYPE that only names an external DTD (never fetched) and
    /// rejects any internal subset that declares entities, so no entity can
    /// expand or reach outside the document.
    fn check_doctype(&self, doctype: &BytesText<'_>, before: usize) -> Result<(), ReadError> {
        if !self.stack.is_empty() || self.root_closed {
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

    fn finish(self) -> Result<Tree<'a>, ReadError> {
        if let Some(open) = self.stack.last() {
            let message = format!(
                "the document ends before </{}>",
                truncate(self.name_of(open))
            );
            return Err(self.not_well_formed(self.text.len(), message));
        }
        if !self.root_closed {
            return Err(self.not_well_formed(
                self.text.len(),
                "no root element; expected a cXML document".into(),
            ));
        }
        Ok(self.tree)
    }

    fn name_of(&self, open: &Open) -> &'a str {
        self.tree.element(open.index).name()
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
            .any(|open| SECRET_ELEMENTS.contains(&self.name_of(open)))
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

/// Resolves entity and character references, borrowing text without any.
fn unescape(raw: Cow<'_, str>) -> Result<Cow<'_, str>, EscapeError> {
    // Most text has no reference, and most text is a few bytes of
    // indentation, for which a plain search for `&` costs less than
    // quick-xml's vectorized search for both `&` and `;`.
    if !raw.as_bytes().contains(&b'&') {
        return Ok(raw);
    }
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

    fn tree(text: &str) -> Result<Tree<'_>, ReadError> {
        parse(text, &Limits::default(), |_| {})
    }

    #[test]
    fn inner_range_covers_content_exactly() {
        let text = "<cXML><a x='1'> <b/>t&amp;</a><c/></cXML>";
        let tree = tree(text).unwrap();
        let root = tree.element(0);
        let a = root.child("a").unwrap();
        assert_eq!(&text[a.inner()], " <b/>t&amp;");
        assert_eq!(a.text(), " t&");
        assert_eq!(a.attr("x"), Some("1"));
        let c = root.child("c").unwrap();
        assert_eq!(&text[c.inner()], "");
    }

    #[test]
    fn namespace_prefixes_are_dropped_from_names() {
        let tree = tree("<x:cXML xmlns:x='urn:x'><x:Request/></x:cXML>").unwrap();
        let root = tree.element(0);
        assert_eq!(root.name(), "cXML");
        assert!(root.child("Request").is_some());
    }

    #[test]
    fn order_lines_leave_the_tree() {
        let text = "<cXML><Request><OrderRequest><H/> <ItemOut n='1'><a>x</a></ItemOut>\n\
                    <ItemOut n='2'/></OrderRequest></Request><After/></cXML>";
        let mut lines = Vec::new();
        let tree = parse(text, &Limits::default(), |item| {
            lines.push((item.attr("n").unwrap().to_string(), item.text()));
        })
        .unwrap();
        assert_eq!(
            lines,
            [("1".into(), "x".into()), ("2".into(), String::new())]
        );
        let root = tree.element(0);
        let order = root
            .child("Request")
            .unwrap()
            .child("OrderRequest")
            .unwrap();
        let names: Vec<_> = order.elements().map(Element::name).collect();
        assert_eq!(names, ["H"]);
        assert!(root.child("After").is_some());
    }

    #[test]
    fn lines_outside_first_request_stay() {
        let text = "<cXML><Request><Other/><OrderRequest><ItemOut/></OrderRequest></Request>\
                    <Request><OrderRequest><ItemOut/></OrderRequest></Request></cXML>";
        let mut count = 0;
        let tree = parse(text, &Limits::default(), |_| count += 1).unwrap();
        assert_eq!(count, 0);
        let lines = tree
            .element(0)
            .all("Request")
            .filter_map(|request| request.child("OrderRequest"))
            .filter(|order| order.child("ItemOut").is_some())
            .count();
        assert_eq!(lines, 2);
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
