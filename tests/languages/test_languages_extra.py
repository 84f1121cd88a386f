"""TypeScript, Rust, C, C++ and C#: CodeSearchNet's rules in spirit (doc comment directly above, top-level
functions and methods of top-level types)."""

from __future__ import annotations

from codequarry.languages import ExtractionRules, extract_file, extract_functions


def _kept(code, lang, **rules):
    return {f.qualified_name: f for f in extract_functions(code, lang, ExtractionRules(**rules))}


def _rejected(code, lang, **rules):
    return {f.qualified_name: why for f, why in extract_file(code, lang, ExtractionRules(**rules)).rejected}


TS = '''\
/**
 * Parses a config.
 * @param text the source
 */
export function parse(text: string): Config {
  return JSON.parse(text);
}

/** Bound arrow. */
export const double = (x: number): number => x * 2;

export class Service<T> {
  /** Fetches one item. */
  @cached()
  public async fetch(id: number): Promise<T> {
    return this.client.get(`/items/${id}`);
  }

  /** Constructors are skipped. */
  constructor(private client: Client) {}

  // Not attached:

  stop(): void {
    this.running = false;
  }
}

/** Callbacks are not named functions. */
items.forEach((i) => console.log(i));
'''


def test_typescript():
    kept = _kept(TS, "typescript")
    assert list(kept) == ["parse", "double", "Service.fetch"]
    assert kept["parse"].summary == "Parses a config." and kept["parse"].parameters == ("text: string",)
    assert kept["double"].code == "(x: number): number => x * 2"
    assert kept["Service.fetch"].class_name == "Service" and "`/items/${id}`" not in kept["Service.fetch"].code_tokens
    assert _rejected(TS, "typescript") == {"Service.stop": "no_docstring"}
    assert "Service.constructor" in _kept(TS, "typescript", scope="all")


def test_tsx_dialect():
    code = "/** Renders a row. */\nexport function Row({ x }: Props) {\n  return <tr><td>{x}</td></tr>;\n}\n"
    (row,) = extract_functions(code, "tsx")
    assert row.qualified_name == "Row" and not row.has_error and row.language == "tsx"


RUST = '''\
//! Crate docs are not function docs.

/// Adds one.
///
/// Longer.
#[inline]
#[must_use]
pub fn add_one(x: i32) -> i32 {
    x + 1
}

// A plain comment is not documentation.
fn plain() -> u8 { 1 }

/** Block doc. */
fn block_doc() {}

impl<T: Clone> Stack<T> {
    /// Pushes a value.
    pub fn push(&mut self, v: T) {
        self.items.push(v);
    }

    /// Blacklisted plumbing.
    fn clone(&self) -> Self { todo!() }
}

impl fmt::Display for Stack<u8> {
    /// Formats.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result { write!(f, "s") }
}

pub trait Shape {
    /// Area with a default.
    fn area(&self) -> f64 { 0.0 }
    /// Declared only.
    fn name(&self) -> String;
}

mod inner {
    /// In a module.
    pub fn helper() -> &'static str { "h" }
}

fn outer() {
    /// Nested functions are not top-level.
    fn nested() {}
}
'''


def test_rust():
    kept = _kept(RUST, "rust")
    assert list(kept) == ["add_one", "block_doc", "Stack.push", "Shape.area", "helper"]
    assert kept["add_one"].docstring == "Adds one.\n\nLonger." and kept["add_one"].summary == "Adds one."
    assert kept["add_one"].code.startswith("pub fn add_one")  # attributes sit between doc and code
    assert kept["block_doc"].docstring == "Block doc."
    assert kept["Stack.push"].class_name == "Stack" and kept["Stack.push"].parameters == ("&mut self", "v: T")
    assert '"h"' in kept["helper"].code_tokens
    assert _rejected(RUST, "rust") == {"plain": "no_docstring", "Stack.clone": "blacklisted",
                                       "Stack.fmt": "blacklisted", "outer": "no_docstring"}
    assert "nested" in _kept(RUST, "rust", scope="all")


C = '''\
#include <stdio.h>

/*
 * Copyright header: separated by a blank line, so not a docstring.
 */

/**
 * Sums two ints.
 */
static int sum(int a, int b)
{
    return a + b; /* inline */
}

// Returns a greeting.
// Second line.
const char *greet(void) { return "hi"; }

int undocumented(void) { return 0; }

#ifdef FEATURE
/* Only with FEATURE. */
void feature(void) { puts("f"); }
#endif

/* Prototype only. */
int declared(int);
'''


def test_c():
    kept = _kept(C, "c")
    assert list(kept) == ["sum", "greet", "feature"]
    assert kept["sum"].docstring == "Sums two ints." and kept["sum"].code.startswith("static int sum(int a, int b)")
    assert kept["greet"].docstring == "Returns a greeting.\nSecond line." and kept["greet"].parameters == ("void",)
    assert "/* inline */" in kept["sum"].code_tokens and '"hi"' in kept["greet"].code_tokens
    assert _rejected(C, "c") == {"undocumented": "no_docstring"}


CPP = '''\
namespace geo {

/// A point.
class Point {
 public:
  /// Builds a point.
  Point(double x, double y) : x_(x), y_(y) {}
  /// Destroys it.
  ~Point() {}

  /// Distance to the origin.
  double norm() const { return std::sqrt(x_ * x_ + y_ * y_); }

  /// Equality.
  bool operator==(const Point& o) const { return x_ == o.x_; }

 private:
  double x_, y_;
};

/// Scales a point.
template <typename T>
Point scale(const Point& p, T k) {
  return Point(p.x() * k, p.y() * k);
}

/// Defined out of class.
double Point::dot(const Point& o) const {
  return x_ * o.x_;
}

}  // namespace geo

extern "C" {
/// C linkage.
int c_entry(void) { return 0; }
}
'''


def test_cpp():
    kept = _kept(CPP, "cpp")
    assert list(kept) == ["Point.norm", "scale", "Point.dot", "c_entry"]
    assert kept["scale"].code.startswith("template <typename T>\nPoint scale")  # the template header is kept
    assert kept["Point.dot"].class_name == "Point" and kept["Point.dot"].summary == "Defined out of class."
    assert _rejected(CPP, "cpp") == {"Point.operator==": "blacklisted"}
    everything = _kept(CPP, "cpp", scope="all")
    assert {"Point.Point", "Point.~Point"} <= set(everything)


CS = '''\
using System;

namespace Shop.Core
{
    /// <summary>A cart.</summary>
    public class Cart
    {
        /// <summary>
        /// Adds an <see cref="Item"/> to the cart.
        /// </summary>
        /// <param name="item">The item.</param>
        /// <returns>The new count.</returns>
        [Obsolete]
        public int Add(Item item)
        {
            items.Add(item);
            return items.Count;
        }

        /// <summary>One-liners are dropped, as in Java.</summary>
        public int Count() => items.Count;

        /// <summary>Blacklisted.</summary>
        public override string ToString()
        {
            return "cart";
        }

        /// <summary>Constructor.</summary>
        public Cart()
        {
            items = new List<Item>();
        }

        // Plain comment docs count too.
        private void Clear()
        {
            items.Clear();
        }
    }
}
'''


def test_c_sharp():
    kept = _kept(CS, "c_sharp")
    assert list(kept) == ["Cart.Add", "Cart.Clear"]
    add = kept["Cart.Add"]
    assert add.summary == "Adds an Item to the cart."
    assert add.docstring == "Adds an Item to the cart.\n\nitem: The item.\n\nReturns: The new count."
    assert add.code.startswith("[Obsolete]\n        public int Add(Item item)")
    assert kept["Cart.Clear"].docstring == "Plain comment docs count too."
    assert _rejected(CS, "c_sharp") == {"Cart.Count": "empty_body", "Cart.ToString": "blacklisted"}
    assert "Cart.Cart" in _kept(CS, "c_sharp", scope="all")
