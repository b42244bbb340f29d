"""Parses bpftrace source into the tree of :mod:`purebpf.trace.ast`.

A recursive-descent parser with C operator precedence.  Syntax errors stop
the parse (as in bpftrace) and come back as a bpftrace-style diagnostic.
"""

from __future__ import annotations

from purebpf.trace import ast
from purebpf.trace.lexer import Lexer, LexError, Token
from purebpf.trace.location import Diagnostics, Location, ProgramError, Source

# binary operators by precedence level, lowest first
BINARY_LEVELS: list[tuple[str, ...]] = [
    ("||",), ("&&",), ("|",), ("^",), ("&",), ("==", "!="), ("<", "<=", ">", ">="), ("<<", ">>"),
    ("+", "-"), ("*", "/", "%"),
]
ASSIGN_OPS = {"=": None, "+=": "+", "-=": "-", "*=": "*", "/=": "/", "%=": "%", "&=": "&", "|=": "|",
              "^=": "^", "<<=": "<<", ">>=": ">>"}
TYPE_WORDS = frozenset({
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool", "string", "inet",
    "buffer", "void", "char", "short", "int", "long", "unsigned", "signed", "struct", "union", "enum",
    "uint", "size_t", "ssize_t", "u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "__u8", "__u16",
    "__u32", "__u64", "__s8", "__s16", "__s32", "__s64", "float", "double", "const", "volatile",
})


# how a syntax error names the token it did not expect
TOKEN_NAMES = {"eof": "end of file", "var": "variable", "map": "map", "int": "integer", "string": "string",
               "param": "positional parameter"}
KEYWORDS = frozenset({"if", "else", "unroll", "while", "for", "return", "break", "continue", "let", "sizeof",
                      "offsetof", "config", "macro", "import"})
END_OF_STATEMENT = "expecting }"


class ParseError(Exception):
    def __init__(self, message: str, loc: Location) -> None:
        super().__init__(message)
        self.loc = loc


def parse(text: str, name: str = "stdin") -> ast.Program:
    """Parse a whole program; raise :class:`ProgramError` with bpftrace's report on error."""
    source = Source(text, name)
    try:
        return Parser(text).program()
    except (ParseError, LexError) as exc:
        diags = Diagnostics(source)
        diags.error(str(exc), exc.loc)
        raise ProgramError(diags.render()) from None


class Parser:
    def __init__(self, text: str) -> None:
        self.lx = Lexer(text)
        self._tok: Token | None = None
        self.in_pred = False
        self._last_had_semicolon = False
        self.type_params: frozenset[str] = frozenset()  # a macro's parameters, which may name types

    # -- token plumbing -----------------------------------------------------------

    @property
    def tok(self) -> Token:
        if self._tok is None:
            self._tok = self.lx.next()
        return self._tok

    def take(self) -> Token:
        tok = self.tok
        self._tok = None
        return tok

    def is_op(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in ops

    def is_word(self, *words: str) -> bool:
        return self.tok.kind == "ident" and self.tok.text in words

    def expect(self, op: str) -> Token:
        if not self.is_op(op):
            self.fail(f"expecting {op}")
        return self.take()

    def fail(self, expecting: str = "") -> None:
        """Raise a syntax error at the current token, worded as bpftrace words it."""
        tok = self.tok
        loc = tok.loc
        shown = TOKEN_NAMES.get(tok.kind, tok.text)
        if tok.kind == "eof":
            loc = Location(loc.line, loc.col, loc.col)
        elif tok.kind == "ident":
            if self.lx.text.startswith("(", self.lx.pos):
                shown, loc = "call", Location(loc.line, loc.col, loc.end + 1)
            elif tok.text in ast.BUILTINS:
                shown = "builtin"
            elif tok.text not in KEYWORDS:
                shown = "identifier"
        extra = f", {expecting}" if expecting else ""
        raise ParseError(f"syntax error, unexpected {shown}{extra}", loc)

    # -- top level ----------------------------------------------------------------

    def program(self) -> ast.Program:
        prog = ast.Program()
        lx = self.lx
        while True:
            c = lx.peek_char()
            if not c:
                return prog
            rest = lx.text[lx.pos:lx.pos + 40]
            if c == "#":
                prog.c_definitions.append(self._preprocessor_line())
            elif _starts_c_definition(rest):
                prog.c_definitions.append(self._c_definition())
            elif rest.startswith("config") and rest[6:].lstrip().startswith("="):
                prog.config.extend(self._config())
            elif _starts_word(rest, "macro"):
                prog.macros.append(self._macro())
            elif _starts_word(rest, "let") and rest[3:].lstrip().startswith("@"):
                prog.map_decls.append(self._map_decl())
            elif _starts_word(rest, "import"):
                prog.imports.append(self._import())
            else:
                prog.probes.append(self._probe())

    def _preprocessor_line(self) -> ast.CDefinition:
        lx = self.lx
        start, line, col = lx.pos, lx.line, lx.pos - lx.line_start + 1
        nl = lx.text.find("\n", lx.pos)
        end = nl if nl >= 0 else len(lx.text)
        lx._advance(end - lx.pos)
        return ast.CDefinition(lx.text[start:end], Location(line, col, col + end - start))

    def _c_definition(self) -> ast.CDefinition:
        """``struct X { ... };`` kept as C text, braces matched."""
        lx = self.lx
        start, line, col = lx.pos, lx.line, lx.pos - lx.line_start + 1
        depth, i, text = 0, lx.pos, lx.text
        while i < len(text):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        if depth:
            raise ParseError("syntax error, unexpected end of file, expecting }", Location(line, col, col + 1))
        lx._advance(i + 1 - lx.pos)
        lx.peek_char()
        while text.startswith("__attribute__", lx.pos):
            lx._advance(len("__attribute__"))
            lx.peek_char()
            depth, i = 0, lx.pos
            while i < len(text):
                depth += {"(": 1, ")": -1}.get(text[i], 0)
                i += 1
                if depth == 0:
                    break
            lx._advance(i - lx.pos)
            lx.peek_char()
        if lx.peek_char() == ";":
            lx._advance(1)
        return ast.CDefinition(text[start:lx.pos], Location(line, col, col + 1))

    def _macro(self) -> ast.Macro:
        tok = self.take()  # macro
        if self.tok.kind != "ident":
            self.fail("expecting a macro name")
        name = self.take()
        self.expect("(")
        params: list[str] = []
        while not self.is_op(")"):
            if self.tok.kind not in ("ident", "var", "map"):
                self.fail("expecting a parameter")
            params.append(self.take().text)
            if not self.is_op(")"):
                self.expect(",")
        self.take()
        self.type_params = frozenset(p for p in params if p[0] not in "$@")
        try:
            body = self.block_expr()
        finally:
            self.type_params = frozenset()
        return ast.Macro(name.text, params, body, tok.loc.join(name.loc))

    def _map_decl(self) -> ast.MapDecl:
        tok = self.take()  # let
        map_tok = self.take()
        self.expect("=")
        kind = self.expr()
        if not isinstance(kind, ast.Call):
            raise ParseError("syntax error, expecting a map kind such as hash(N)", kind.loc)
        self.expect(";")
        return ast.MapDecl(map_tok.text, kind, tok.loc.join(map_tok.loc))

    def _import(self) -> ast.Import:
        tok = self.take()  # import
        if self.tok.kind != "string":
            self.fail("expecting a string")
        path = self.take()
        self.expect(";")
        return ast.Import(path.value, tok.loc.join(path.loc))

    def _config(self) -> list[ast.ConfigItem]:
        self.take()  # config
        self.expect("=")
        self.expect("{")
        items = []
        while not self.is_op("}"):
            if self.tok.kind != "ident":
                self.fail("expecting a config key")
            key = self.take()
            self.expect("=")
            value = self.expr()
            items.append(ast.ConfigItem(key.text, value, key.loc))
            if not self.is_op("}"):
                self.expect(";")
        self.take()
        return items

    def _probe(self) -> ast.Probe:
        lx = self.lx
        points = []
        while True:
            got = lx.attach_point()
            if got is None:
                self.fail("expecting {")
            points.append(ast.AttachPoint(*got))
            if lx.peek_char() != ",":
                break
            lx._advance(1)
        loc = points[0].loc.join(points[-1].loc)
        pred = None
        if self.is_op("/"):
            self.take()
            self.in_pred = True
            pred = self.expr()
            self.in_pred = False
            self.expect("/")
        if not self.is_op("{"):
            self.fail("expecting {")
        body = self.block()
        return ast.Probe(points, pred, body, loc)

    # -- statements ---------------------------------------------------------------

    def block(self, value_ifs: bool = False) -> list[ast.Stmt]:
        """``{ stmt; ... }``; with ``value_ifs`` an ``if`` statement is read as an if
        expression, so the last one can be the value of a block expression."""
        self.expect("{")
        stmts: list[ast.Stmt] = []
        semicolon = False
        while not self.is_op("}"):
            if self.is_op(";"):
                self.take()
                semicolon = True
                continue
            stmt, compound = self.statement(value_ifs)
            stmts.append(stmt)
            semicolon = False
            if compound or self.is_op("}"):
                continue
            if not self.is_op(";"):
                self.fail(END_OF_STATEMENT)
            self.take()
            semicolon = True
        self.take()
        self._last_had_semicolon = semicolon
        return stmts

    def block_expr(self) -> ast.BlockExpr:
        """``{ stmts; value }``: a block whose last expression (no ';') is its value."""
        open_tok = self.tok
        stmts = self.block(value_ifs=True)
        value = None
        if stmts and isinstance(stmts[-1], ast.ExprStmt) and not self._last_had_semicolon:
            value = stmts.pop().expr
        return ast.BlockExpr(open_tok.loc, stmts, value)

    def statement(self, value_ifs: bool = False) -> tuple[ast.Stmt, bool]:
        """One statement and whether it was a block statement (no ';' needed)."""
        tok = self.tok
        if tok.kind == "ident":
            word = tok.text
            if word == "if":
                if value_ifs:
                    value = self._if_expr()
                    return ast.ExprStmt(value.loc, value), True
                return self._if(), True
            if word == "unroll":
                self.take()
                self.expect("(")
                count = self.expr()
                self.expect(")")
                return ast.Unroll(tok.loc, count, self.block()), True
            if word == "while":
                self.take()
                self.expect("(")
                cond = self.expr()
                self.expect(")")
                return ast.While(tok.loc, cond, self.block()), True
            if word == "for":
                return self._for(), True
            if word in ("return", "break", "continue"):
                self.take()
                value = None
                if word == "return" and not self.is_op(";", "}"):
                    value = self.expr()
                return ast.Jump(tok.loc, word, value), False
            if word == "let":
                return self._let(), False
        expr = self.expr()
        if self.tok.kind == "op" and self.tok.text in ASSIGN_OPS:
            op_tok = self.take()
            if not isinstance(expr, (ast.Map, ast.Variable, ast.FieldAccess, ast.ArrayAccess)) and not (
                    isinstance(expr, ast.Identifier) and expr.name == "_"):
                raise ParseError(f"syntax error, unexpected {op_tok.text}, {END_OF_STATEMENT}", op_tok.loc)
            value = self.expr()
            return ast.Assign(expr.loc, expr, value, ASSIGN_OPS[op_tok.text]), False
        return ast.ExprStmt(expr.loc, expr), False

    def _if(self) -> ast.If:
        tok = self.take()
        cond = self.expr()  # current bpftrace: the parentheses are optional (``if $x { }``)
        then = self.block()
        orelse: list[ast.Stmt] = []
        if self.is_word("else"):
            self.take()
            orelse = [self._if()] if self.is_word("if") else self.block()
        return ast.If(tok.loc, cond, then, orelse)

    def _for(self) -> ast.For:
        tok = self.take()
        paren = self.is_op("(")  # optional in current bpftrace: ``for $kv : @m { }``
        if paren:
            self.take()
        if self.tok.kind != "var":
            self.fail("expecting a variable")
        var_tok = self.take()
        self.expect(":")
        var = ast.Variable(var_tok.loc, var_tok.text)
        if self.tok.kind == "map" and self._next_char_is(")" if paren else "{"):
            map_tok = self.take()
            if paren:
                self.expect(")")
            return ast.For(tok.loc, var, ast.Map(map_tok.loc, map_tok.text), self.block())
        start = self.binary(0)
        self.expect("..")
        end = self.binary(0)
        if paren:
            self.expect(")")
        return ast.For(tok.loc, var, None, self.block(), start, end)

    def _param_type(self) -> bool:
        """A macro parameter used as a type: ``sizeof(t *)``, ``(t *)expr`` (bound to ``typeof(T)``)."""
        return self.tok.text in self.type_params and self.lx.peek_char() == "*"

    def _next_char_is(self, c: str) -> bool:
        """Whether the character after the current (already read) token is ``c``."""
        return self.lx.peek_char() == c

    def _let(self) -> ast.VarDecl:
        tok = self.take()
        if self.tok.kind != "var":
            self.fail("expecting a variable")
        var_tok = self.take()
        type_name = None
        if self.is_op(":"):
            self.take()
            type_name = self.type_name()
        value = None
        if self.is_op("="):
            self.take()
            value = self.expr()
        return ast.VarDecl(tok.loc, ast.Variable(var_tok.loc, var_tok.text), type_name, value)

    # -- expressions --------------------------------------------------------------

    def expr(self) -> ast.Expr:
        cond = self.binary(0)
        if self.is_op("?:"):
            self.take()
            return ast.Ternary(cond.loc, cond, None, self.expr())
        if not self.is_op("?"):
            return cond
        self.take()
        left = self.expr()
        self.expect(":")
        right = self.expr()
        return ast.Ternary(cond.loc, cond, left, right)

    def binary(self, level: int) -> ast.Expr:
        if level == len(BINARY_LEVELS):
            return self.unary()
        ops = BINARY_LEVELS[level]
        left = self.binary(level + 1)
        while self.tok.kind == "op" and self.tok.text in ops:
            if self.tok.text == "/" and self.in_pred and self.lx.peek_char() == "{":
                break  # the '/' closing a predicate
            op = self.take()
            right = self.binary(level + 1)
            left = ast.Binop(left.loc.join(right.loc), op.text, left, right)
        return left

    def unary(self) -> ast.Expr:
        tok = self.tok
        if tok.kind == "op":
            if tok.text in ("!", "~", "-", "*", "&", "++", "--", "+"):
                self.take()
                operand = self.unary()
                if tok.text == "+":
                    return operand
                if tok.text == "-" and isinstance(operand, ast.Integer):
                    return ast.Integer(tok.loc.join(operand.loc), -operand.value)
                return ast.Unop(tok.loc, tok.text, operand)
            if tok.text == "(":
                return self.postfix(self._paren())
        return self.postfix(self.primary())

    def _paren(self) -> ast.Expr:
        """``(type) expr`` cast, ``(a, b)`` tuple or ``(expr)`` grouping."""
        open_tok = self.take()
        if self.tok.kind == "ident" and (_is_type_word(self.tok.text) or self._param_type()):
            type_name = self.type_name()
            self.expect(")")
            return ast.Cast(open_tok.loc, type_name, self.unary())
        if self._at_record_field():
            return self._record(open_tok)
        first = self.expr()
        if not self.is_op(","):
            self.expect(")")
            return first
        elems = [first]
        while self.is_op(","):
            self.take()
            if self.is_op(")"):
                break
            elems.append(self.expr())
        self.expect(")")
        return ast.Tuple(open_tok.loc, elems)

    def _at_record_field(self) -> bool:
        """``name=`` (not ``name==``) starts a record field."""
        if self.tok.kind != "ident":
            return False
        self.lx.peek_char()  # skip spaces after the name
        text, pos = self.lx.text, self.lx.pos
        return text.startswith("=", pos) and not text.startswith("==", pos)

    def _record(self, open_tok: Token) -> ast.Tuple:
        names: list[str] = []
        elems: list[ast.Expr] = []
        while True:
            if self.tok.kind != "ident":
                self.fail("expecting a field name")
            names.append(self.take().text)
            self.expect("=")
            elems.append(self.expr())
            if not self.is_op(","):
                break
            self.take()
        self.expect(")")
        return ast.Tuple(open_tok.loc, elems, names)

    def type_name(self) -> str:
        """A C-ish type: words (``unsigned int``, ``struct task_struct``), then
        ``*``s and an optional ``[N]``."""
        if self.is_word("typeof"):
            return self._typeof_text()
        words = []
        while self.tok.kind == "ident":
            words.append(self.take().text)
            if words[-1] in ("struct", "union", "enum"):
                if self.tok.kind != "ident":
                    self.fail("expecting a type name")
                words.append(self.take().text)
                break
        if not words:
            self.fail("expecting a type")
        name = " ".join(words)
        stars = 0
        while self.is_op("*"):
            self.take()
            stars += 1
        if stars:
            name += " " + "*" * stars
        if self.is_op("["):
            self.take()
            if self.is_op("]"):
                self.take()
                return name + "[]"
            count = self.tok
            if count.kind != "int":
                self.fail("expecting an array size")
            self.take()
            self.expect("]")
            name += f"[{count.value}]"
        return name

    def _typeof_text(self) -> str:
        """``typeof(...)`` kept as its source text for semantic analysis to resolve."""
        self.take()  # typeof
        open_paren = self.expect("(")
        depth, text = 1, self.lx.text
        begin = self.lx.pos
        while depth and self.tok.kind != "eof":
            tok = self.take()
            depth += {"(": 1, ")": -1}.get(tok.text, 0) if tok.kind == "op" else 0
        if depth:
            raise ParseError("syntax error, unexpected end of file, expecting )", open_paren.loc)
        return "typeof(" + text[begin:self.lx.pos - 1].strip() + ")"

    def primary(self) -> ast.Expr:
        tok = self.tok
        if tok.kind == "int":
            self.take()
            return ast.Integer(tok.loc, tok.value)
        if tok.kind == "string":
            self.take()
            return ast.String(tok.loc, tok.value)
        if tok.kind == "var":
            self.take()
            return ast.Variable(tok.loc, tok.text)
        if tok.kind == "param":
            self.take()
            return ast.PositionalParameter(tok.loc, tok.value)
        if tok.kind == "map":
            self.take()
            keys: list[ast.Expr] = []
            if self.is_op("["):
                self.take()
                keys.append(self.expr())
                while self.is_op(","):
                    self.take()
                    keys.append(self.expr())
                if not self.is_op("]"):
                    self.fail('expecting ] or ","')
                return ast.Map(tok.loc.join(self.take().loc), tok.text, keys)  # @m[k] is located as a whole
            return ast.Map(tok.loc, tok.text, keys)
        if tok.kind == "op" and tok.text == "{":
            return self.block_expr()
        if tok.kind == "ident" and tok.text == "if":
            return self._if_expr()
        if tok.kind == "ident" and tok.text == "typeof":
            return ast.TypeOf(tok.loc, None, self.type_name())
        if tok.kind == "ident":
            self.take()
            if self.is_op("("):
                return self._call(tok)
            if tok.text in ast.BUILTINS:
                return ast.Builtin(tok.loc, tok.text)
            return ast.Identifier(tok.loc, tok.text)
        self.fail()
        raise AssertionError("unreachable")

    def _if_expr(self) -> ast.IfExpr:
        tok = self.take()
        cond = self.expr()
        then = self.block_expr()
        orelse = None
        if self.is_word("else"):
            self.take()
            if self.is_word("if"):
                inner = self._if_expr()
                orelse = ast.BlockExpr(inner.loc, [], inner)
            else:
                orelse = self.block_expr()
        return ast.IfExpr(tok.loc, cond, then, orelse)

    def _call(self, name: Token) -> ast.Expr:
        self.take()  # (
        if name.text == "sizeof":
            if self.tok.kind == "ident" and (self.tok.text in TYPE_WORDS or self._param_type()):
                type_name = self.type_name()
                self.expect(")")
                return ast.Sizeof(name.loc, None, type_name)
            arg = self.expr()
            self.expect(")")
            return ast.Sizeof(name.loc, arg)
        if name.text == "offsetof":
            type_name = self.type_name()
            self.expect(",")
            fields = [self._field_name()]
            while self.is_op("."):
                self.take()
                fields.append(self._field_name())
            self.expect(")")
            return ast.Offsetof(name.loc, type_name, fields)
        args: list[ast.Expr] = []
        if not self.is_op(")"):
            args.append(self.expr())
            while self.is_op(","):
                self.take()
                args.append(self.expr())
        if not self.is_op(")"):
            self.fail('expecting ) or ","')
        end = self.take()
        return ast.Call(name.loc.join(end.loc), name.text, args)

    def _field_name(self) -> str:
        return self._field_token().text

    def _field_token(self) -> Token:
        if self.tok.kind not in ("ident", "int"):
            self.fail("expecting a field name")
        return self.take()

    def postfix(self, expr: ast.Expr) -> ast.Expr:
        while self.tok.kind == "op":
            tok = self.tok
            if tok.text == ".":
                self.take()
                name = self._field_token()
                expr = ast.FieldAccess(expr.loc.join(name.loc), expr, name.text)
            elif tok.text == "->":
                self.take()
                deref = ast.Unop(expr.loc, "*", expr)
                name = self._field_token()
                expr = ast.FieldAccess(expr.loc.join(name.loc), deref, name.text)
            elif tok.text == "[":
                self.take()
                index = self.expr()
                end = self.expect("]")
                expr = ast.ArrayAccess(expr.loc.join(end.loc), expr, index)
            elif tok.text in ("++", "--"):
                self.take()
                expr = ast.Unop(tok.loc, tok.text, expr, postfix=True)
            else:
                break
        return expr


def _is_type_word(word: str) -> bool:
    """Words that start a type in a cast: bpftrace's and C's, ``typeof`` and ``*_t`` typedefs."""
    return word in TYPE_WORDS or word == "typeof" or (word.endswith("_t") and len(word) > 2)


def _starts_word(rest: str, word: str) -> bool:
    return rest.startswith(word) and not (rest[len(word):len(word) + 1].isalnum()
                                          or rest[len(word):len(word) + 1] == "_")


def _starts_c_definition(rest: str) -> bool:
    """``struct X {`` / ``union X {`` / ``enum X {`` at the top level."""
    words = rest.split(None, 2)
    return (len(words) >= 2 and words[0] in ("struct", "union", "enum")
            and ("{" in rest.split("\n", 1)[0] or (len(words) > 2 and words[2].startswith("{"))))
