"""CodeSearchNet's function_parser rules, language by language (protocols.md §1b), on code written here."""

from __future__ import annotations

from codequarry.languages import ExtractionRules, extract_file, extract_functions


def _kept(code, lang, **rules):
    return {f.qualified_name: f for f in extract_functions(code, lang, ExtractionRules(**rules))}


def _rejected(code, lang, **rules):
    return {f.qualified_name: why for f, why in extract_file(code, lang, ExtractionRules(**rules)).rejected}


PY = '''\
import os


@cached
def top(a, b=1, *args, **kw):
    """Add things.

    Longer text."""
    return a + b


def undocumented(x):
    return x


def abstract():
    raise NotImplementedError


class Store(Base):
    """A store."""

    def get(self, key):
        r"""Fetch @key from the store."""
        value = self._d["a b"]  # comment token
        return value

    @property
    def size(self):
        x = 1
        "late string statement"
        return x

    def __repr__(self):
        """Text form."""
        def inner():
            """Nested: not taken."""
        return inner

    def stub(self):
        pass


@decorated
class Hidden:
    def method(self):
        """CSN never looks inside decorated classes."""
        return 1


def outer():
    """Outer."""
    def nested():
        """Nested function."""
        return 2
    return nested
'''


def test_python_which_definitions():
    kept = _kept(PY, "python")
    assert list(kept) == ["top", "Store.get", "Store.size", "Store.__repr__", "outer"]
    rejected = _rejected(PY, "python")
    assert rejected == {"undocumented": "no_docstring", "abstract": "empty_body", "Store.stub": "empty_body"}
    assert "Hidden.method" not in kept and "outer.nested" not in kept and "Store.__repr__.inner" not in kept


def test_python_docstring_summary_code_and_tokens():
    kept = _kept(PY, "python")
    top = kept["top"]
    assert top.docstring == "Add things.\n\n    Longer text." and top.summary == "Add things."
    assert top.code.startswith("def top(a, b=1") and "@cached" not in top.code  # the decorator is not the function
    assert (top.start_line, top.end_line) == (5, 9)
    assert top.parameters == ("a", "b=1", "*args", "**kw") and not top.is_method and top.class_name is None
    assert '"""Add things.' not in " ".join(top.code_tokens)  # the docstring is not a code token
    assert top.code_tokens[:6] == ("def", "top", "(", "a", ",", "b")
    assert '"""Add things.' not in top.code_without_docstring and "return a + b" in top.code_without_docstring
    get = kept["Store.get"]
    assert get.class_name == "Store" and get.is_method
    assert get.docstring == 'r"""Fetch @key from the store.'  # CSN strips quotes only; the r prefix stays
    assert get.summary == 'r"""Fetch'  # no blank line: cut before "@" (the Javadoc rule), then stripped
    assert '"a b"' in get.code_tokens and "# comment token" in get.code_tokens
    size = kept["Store.size"]  # CSN takes the first string statement anywhere in the body
    assert size.docstring == "late string statement" and size.code.startswith("def size")


def test_python_all_scope_takes_nested_and_decorated_class_methods():
    kept = _kept(PY, "python", scope="all")
    assert {"Hidden.method", "outer.nested", "Store.__repr__.inner"} <= set(kept)
    assert kept["Hidden.method"].class_name == "Hidden" and kept["outer.nested"].class_name is None


def test_python_rules_are_configurable():
    kept = _kept(PY, "python", require_docstring=False, skip_empty=False)
    assert {"undocumented", "abstract", "Store.stub"} <= set(kept)
    assert _rejected("def f():\n    '''D.'''\n", "python", min_code_tokens=100) == {"f": "too_few_code_tokens"}


JAVA = '''\
package p;

import java.util.List;

/** Class doc. */
public class Cache<K> extends Base implements Api {
    /**
     * Returns the value.
     *
     * @param key the key
     */
    @Override
    public V get(K key) throws IOException {
        return map.get(key);
    }

    // Puts a value.
    void put(K key, V value) {
        map.put(key, value);
    }

    /** One line. */
    int size() { return map.size(); }

    /** Constructors are not methods. */
    public Cache() {
        super();
    }

    /** Blacklisted. */
    public String toString() {
        return "c";
    }

    /* Block comment. */
    public void clear() {
        map.clear();
    }

    int noDoc() {
        return 1;
    }

    /** Inner classes are not root-level. */
    static class Inner {
        /** Hidden. */
        void hidden() {
            run();
        }
    }
}

/** Interfaces are not collected. */
interface Api {
    /** Declared. */
    void get();
}
'''


def test_java_methods_of_root_classes():
    kept = _kept(JAVA, "java")
    assert list(kept) == ["Cache.get", "Cache.put", "Cache.clear"]
    get = kept["Cache.get"]
    assert get.docstring == "Returns the value.\n\n@param key the key" and get.summary == "Returns the value."
    assert get.code.startswith("@Override\n    public V get(K key)")  # annotations belong to the method
    assert get.parameters == ("K key",) and get.class_name == "Cache"
    assert kept["Cache.put"].docstring == "Puts a value."
    assert kept["Cache.clear"].docstring == "/* Block comment."  # CSN's delimiter stripping keeps "/*"
    assert _rejected(JAVA, "java") == {"Cache.size": "empty_body", "Cache.toString": "blacklisted",
                                       "Cache.noDoc": "no_docstring"}


def test_java_all_scope():
    kept = _kept(JAVA, "java", scope="all")
    assert sorted(kept) == ["Api.get", "Cache.Cache", "Cache.Inner.hidden", "Cache.clear", "Cache.get", "Cache.put"]
    assert kept["Cache.Inner.hidden"].class_name == "Inner" and kept["Cache.Cache"].summary == "Constructors are not methods."


GO = '''\
package store

import "fmt"

// Get returns the value.
//
// It never fails.
func Get(key string) (string, error) {
\treturn fmt.Sprint(key), nil
}

// orphan comment

var x = 1

// Put stores it.
func (s *Store[T]) Put(key string, v T) {
\ts.m[key] = v
}

/* Del deletes. */
func Del() {
\tdelete(m, "k")
}

func NoDoc() {}
'''


def test_go_functions_and_methods():
    kept = _kept(GO, "go")
    assert list(kept) == ["Get", "Put", "Del"]
    get = kept["Get"]
    assert get.docstring == "Get returns the value.\n\nIt never fails."
    assert get.summary == get.docstring  # CSN summarises the raw "//" text, which has no blank line
    assert get.raw_docstring == "// Get returns the value.\n//\n// It never fails."
    put = kept["Put"]
    assert put.qualified_name == "Put" and put.class_name == "Store" and put.is_method
    assert kept["Del"].docstring == "/* Del deletes."
    assert _rejected(GO, "go") == {"NoDoc": "no_docstring"}


JS = '''\
// Header one.
// Header two.
function first(a) {
  return a;
}

/** Doc of a var function. */
var second = function (b) {
  return b;
};

/**
 * Exported: CSN's walk-back stops at the export keyword.
 */
export function third() {
  return 3;
}

const api = {
  // comment before a pair
  fourth: function () { return 4; },
  fifth() { return 5; },
};

/** Arrow functions are not `function` nodes. */
const sixth = (x) => x * 2;

/** toString is blacklisted. */
function toString() {
  return "s";
}

function outer() {
  /** Nested functions are taken too. */
  function inner() {
    return 1;
  }
  return inner;
}
'''


def test_javascript_function_nodes_and_docstrings():
    kept = _kept(JS, "javascript")
    assert list(kept) == ["first", "second", "fourth", "inner"]
    assert kept["first"].docstring == "Header one. Header two."  # comments joined with spaces
    assert kept["second"].docstring == "Doc of a var function."
    assert kept["second"].code.startswith("function (b)")
    assert kept["fourth"].docstring == "comment before a pair"
    rejected = _rejected(JS, "javascript")
    assert rejected["third"] == "no_docstring" and rejected["toString"] == "blacklisted"
    assert rejected["outer"] == "no_docstring"
    assert "sixth" not in rejected and "api.fifth" not in rejected and "fifth" not in rejected


def test_javascript_csn_blank_line_rule():
    code = "// a\n\n// b\n\n// c\n// d\nfunction f() { return 1; }\n"
    # CSN always takes the comment before the function and the one before it, then stops at a blank line
    assert _kept(code, "javascript")["f"].docstring == "c d"
    code2 = "// a\n\n// b\n// c\nfunction f() { return 1; }\n"
    assert _kept(code2, "javascript")["f"].docstring == "b c"
    code3 = "// x\n// y\n\n// z\nfunction f() { return 1; }\n"
    assert _kept(code3, "javascript")["f"].docstring == "x y z"  # the gap between the first two is never checked


def test_javascript_all_scope_adds_methods_and_arrows():
    kept = _kept(JS, "javascript", scope="all")
    assert {"third", "sixth", "first"} <= set(kept)
    assert kept["third"].summary == "Exported: CSN's walk-back stops at the export keyword."


PHP = '''\
<?php
namespace App;

/**
 * A repository.
 */
class Repo extends Base
{
    /**
     * Finds a row.
     *
     * @param int $id
     */
    public static function find(int $id): ?array
    {
        return $this->rows[$id] ?? null;
    }

    /** Magic methods are blacklisted. */
    public function __construct()
    {
        $this->rows = [];
    }

    # Hash comment.
    protected function hashed()
    {
        return 1;
    }

    private function noDoc() { return 2; }
}

trait Greets
{
    /** Says hello. */
    public function hello($name = "x")
    {
        return "hi " . $name;
    }
}

/** Plain functions are not methods. */
function helper() { return 3; }
'''


def test_php_methods_of_classes_and_traits():
    kept = _kept(PHP, "php")
    assert list(kept) == ["Repo.find", "Repo.hashed", "Greets.hello"]
    find = kept["Repo.find"]
    assert find.summary == "Finds a row." and find.code.startswith("public static function find")
    assert find.parameters == ("int $id",)
    assert kept["Repo.hashed"].docstring == "# Hash comment."  # CSN strips only C-style delimiters
    assert _rejected(PHP, "php") == {"Repo.__construct": "blacklisted", "Repo.noDoc": "no_docstring"}
    assert "helper" in _kept(PHP, "php", scope="all")


RUBY = '''\
module Shop
  # Cart doc.
  class Cart < Base
    # Adds an item.
    #
    # More about it.
    def add(item, qty = 1)
      @items << [item, qty]
    end

    # Builds the cart.
    def initialize
      @items = []
    end

    def after_init
      @items.size
    end

    # Class method.
    def self.build
      new
    end

    def total; end
  end

  module Helpers
    # Formats money.
    def money(x)
      format("%.2f", x)
    end
  end
end

class TopLevel
  # Not inside a module.
  def skipped
    1
  end
end
'''


def test_ruby_methods_in_module_classes():
    kept = _kept(RUBY, "ruby")
    assert list(kept) == ["Shop.Cart.add", "Shop.Cart.after_init", "Shop.Helpers.money"]
    add = kept["Shop.Cart.add"]
    assert add.docstring == "Adds an item.\n\n More about it." and add.summary == "Adds an item."
    assert add.parameters == ("item", "qty = 1") and add.class_name == "Cart"
    # CSN's quirk: a blacklisted method does not reset the comment run, so its comment moves on
    assert kept["Shop.Cart.after_init"].docstring == "Builds the cart."
    assert _rejected(RUBY, "ruby") == {"Shop.Cart.initialize": "blacklisted", "Shop.Cart.total": "no_docstring"}
    assert sorted(_kept(RUBY, "ruby", scope="all")) == ["Shop.Cart.add", "Shop.Cart.build", "Shop.Helpers.money",
                                                        "TopLevel.skipped"]


def test_ruby_file_with_root_error_is_skipped():
    broken = "module M\n  class C\n    # doc\n    def f(\n  end\n"
    ex = extract_file(broken, "ruby")
    assert ex.skipped == "root_has_error" and ex.functions == [] and ex.rejected == []
