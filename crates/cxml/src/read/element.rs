//! A flat element tree: every node of a document in one vector, linked by
//! index, so that reading an element costs no allocation of its own.

use std::borrow::Cow;
use std::ops::Range;

/// The nodes of a document in document order, with the attributes of all
/// elements in one list. Names, and text or attribute values without
/// references, borrow the decoded text.
#[derive(Debug, Default)]
pub(crate) struct Tree<'a> {
    nodes: Vec<Node<'a>>,
    attributes: Vec<(&'a str, Cow<'a, str>)>,
}

#[derive(Debug)]
struct Node<'a> {
    kind: NodeKind<'a>,
    next_sibling: Option<usize>,
}

#[derive(Debug)]
enum NodeKind<'a> {
    Element(ElementNode<'a>),
    /// Text and CDATA, with entity and character references resolved.
    Text(Cow<'a, str>),
}

#[derive(Debug)]
struct ElementNode<'a> {
    /// The local name: a namespace prefix is dropped.
    name: &'a str,
    /// The element's range in [`Tree::attributes`].
    attributes: Range<usize>,
    first_child: Option<usize>,
    /// Byte range of the content between the start and end tags in the
    /// decoded text.
    inner: Range<usize>,
}

impl<'a> Tree<'a> {
    /// Returns the number of attributes of all elements, which is where the
    /// next element's attributes start.
    pub fn attribute_count(&self) -> usize {
        self.attributes.len()
    }

    /// Adds the attributes of the next element.
    pub fn push_attribute(&mut self, name: &'a str, value: Cow<'a, str>) {
        self.attributes.push((name, value));
    }

    /// Adds an element whose attributes are those pushed since
    /// `attributes_start`, and returns its index.
    pub fn push_element(&mut self, name: &'a str, attributes_start: usize, inner: usize) -> usize {
        let attributes = attributes_start..self.attributes.len();
        self.push(NodeKind::Element(ElementNode {
            name,
            attributes,
            first_child: None,
            inner: inner..inner,
        }))
    }

    /// Adds a text node and returns its index.
    pub fn push_text(&mut self, text: Cow<'a, str>) -> usize {
        self.push(NodeKind::Text(text))
    }

    fn push(&mut self, kind: NodeKind<'a>) -> usize {
        self.nodes.push(Node {
            kind,
            next_sibling: None,
        });
        self.nodes.len() - 1
    }

    /// Makes `child` the child of `parent` after `previous`, or its first
    /// child when `previous` is `None`.
    pub fn link(&mut self, parent: usize, previous: Option<usize>, child: Option<usize>) {
        match previous {
            Some(previous) => self.nodes[previous].next_sibling = child,
            None => {
                if let NodeKind::Element(element) = &mut self.nodes[parent].kind {
                    element.first_child = child;
                }
            }
        }
    }

    /// Sets where the content of element `index` ends.
    pub fn close(&mut self, index: usize, inner_end: usize) {
        if let NodeKind::Element(element) = &mut self.nodes[index].kind {
            element.inner.end = inner_end.max(element.inner.start);
        }
    }

    /// Drops element `index` and everything after it. The caller unlinks it
    /// from its parent.
    pub fn truncate(&mut self, index: usize) {
        if let Some(NodeKind::Element(element)) = self.nodes.get(index).map(|node| &node.kind) {
            let attributes_start = element.attributes.start;
            self.attributes.truncate(attributes_start);
        }
        self.nodes.truncate(index);
    }

    /// Returns the element at `index`, which must be an element node.
    pub fn element(&self, index: usize) -> Element<'_, 'a> {
        Element { tree: self, index }
    }

    fn element_node(&self, index: usize) -> &ElementNode<'a> {
        match &self.nodes[index].kind {
            NodeKind::Element(element) => element,
            // Only element indices are handed out as `Element`.
            NodeKind::Text(_) => unreachable!("node {index} is text, not an element"),
        }
    }
}

/// An element of a [`Tree`]: a cheap handle to copy and pass by value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Element<'t, 'a> {
    tree: &'t Tree<'a>,
    index: usize,
}

impl<'t, 'a> Element<'t, 'a> {
    fn node(self) -> &'t ElementNode<'a> {
        self.tree.element_node(self.index)
    }

    /// Returns the local name: a namespace prefix is dropped.
    pub fn name(self) -> &'a str {
        self.node().name
    }

    /// Returns the byte range of the content between the start and end tags
    /// in the decoded text.
    pub fn inner(self) -> Range<usize> {
        self.node().inner.clone()
    }

    /// Returns the value of attribute `name` (qualified, so `xml:lang` keeps
    /// its prefix), unescaped.
    pub fn attr(self, name: &str) -> Option<&'t str> {
        self.tree.attributes[self.node().attributes.clone()]
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_ref())
    }

    fn children(self) -> Children<'t, 'a> {
        Children {
            tree: self.tree,
            next: self.node().first_child,
        }
    }

    /// Returns the child elements in document order.
    pub fn elements(self) -> impl Iterator<Item = Element<'t, 'a>> {
        let tree = self.tree;
        self.children()
            .filter_map(move |index| match tree.nodes[index].kind {
                NodeKind::Element(_) => Some(Element { tree, index }),
                NodeKind::Text(_) => None,
            })
    }

    /// Returns the child elements named `name`.
    pub fn all<'s>(self, name: &'s str) -> impl Iterator<Item = Element<'t, 'a>> + 's
    where
        't: 's,
        'a: 's,
    {
        self.elements()
            .filter(move |element| element.name() == name)
    }

    /// Converts each child element named `name`, into a vector of exactly
    /// their number. `collect` over a filter starts with room for four, and
    /// a large order has thousands of these vectors.
    pub fn map_all<T>(self, name: &str, convert: impl FnMut(Element<'t, 'a>) -> T) -> Vec<T> {
        let mut converted = Vec::with_capacity(self.all(name).count());
        converted.extend(self.all(name).map(convert));
        converted
    }

    /// Converts each child element named `name`, keeping the `Some` results,
    /// into a vector sized for all of them as [`Element::map_all`] does.
    pub fn filter_map_all<T>(
        self,
        name: &str,
        convert: impl FnMut(Element<'t, 'a>) -> Option<T>,
    ) -> Vec<T> {
        let mut converted = Vec::with_capacity(self.all(name).count());
        converted.extend(self.all(name).filter_map(convert));
        converted
    }

    /// Returns the first child element named `name`, wherever it is among
    /// its siblings.
    pub fn child(self, name: &str) -> Option<Element<'t, 'a>> {
        self.elements().find(|element| element.name() == name)
    }

    /// Returns the text directly inside this element, skipping children.
    pub fn own_text(self) -> String {
        if let Some(only) = self.only_text() {
            return only.to_string();
        }
        let mut text = String::new();
        for index in self.children() {
            if let NodeKind::Text(part) = &self.tree.nodes[index].kind {
                text.push_str(part);
            }
        }
        text
    }

    /// Returns all text inside this element, children included.
    pub fn text(self) -> String {
        // Most elements hold one text node, which one exact allocation
        // copies without the growth checks of `push_str`.
        if let Some(only) = self.only_text() {
            return only.to_string();
        }
        let mut text = String::new();
        self.collect_text(&mut text);
        text
    }

    /// Returns the text of an element whose only child is one text node.
    fn only_text(self) -> Option<&'t str> {
        let first = self.node().first_child?;
        let node = &self.tree.nodes[first];
        match &node.kind {
            NodeKind::Text(text) if node.next_sibling.is_none() => Some(text),
            _ => None,
        }
    }

    fn collect_text(self, text: &mut String) {
        for index in self.children() {
            match &self.tree.nodes[index].kind {
                NodeKind::Text(part) => text.push_str(part),
                NodeKind::Element(_) => self.tree.element(index).collect_text(text),
            }
        }
    }

    /// Returns the text of the first child named `name`.
    pub fn child_text(self, name: &str) -> Option<String> {
        self.child(name).map(Element::text)
    }
}

/// The indices of an element's children in document order.
struct Children<'t, 'a> {
    tree: &'t Tree<'a>,
    next: Option<usize>,
}

impl Iterator for Children<'_, '_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let index = self.next?;
        self.next = self.tree.nodes[index].next_sibling;
        Some(index)
    }
}
