"""String operations (``strlen``, ``strncmp``, ``strcontains``, comparisons) over run-time strings.

Up to UNROLL_BYTES they are one compare-and-branch per byte in line.  Longer ones run in bpf_loop
callbacks (words of 8 bytes where the strings are aligned), so neither the code nor the verifier's work
grows with max_strlen (1024 by default, as in current bpftrace; 9999 works): unrolled, a kilobyte string
gave the verifier a thousand branch states that never merge.
"""

from __future__ import annotations

from purebpf.asm import (
    FP,
    R0,
    R1,
    R2,
    R3,
    R4,
    R5,
    R6,
    R7,
    R8,
    AluOp,
    JmpOp,
    add,
    alu,
    call,
    exit_,
    ja,
    jmp,
    ld_func,
    ld_imm64,
    ldx,
    mov,
    st,
    stx,
)
from purebpf.trace import ast
from purebpf.trace.codegen.base import (
    LITERAL_BYTES_PER_CALL,
    LOOP_NUMBER,
    LOOP_RESULT,
    LOOP_SPARE,
    STRING_CHUNK,
    UNROLL_BYTES,
    WORDS_PER_CALL,
    ZERO_TEST_HIGHS,
    ZERO_TEST_ONES,
    CodegenBase,
)


class StringsMixin(CodegenBase):
    def string_operand(self, e: ast.Expr) -> int:
        """A string for a reader that stops at its NUL: a str() read there needs no clearing first."""
        if isinstance(e, ast.Call) and e.func == "str" and e.args[0].type.kind != "string":
            return self.c_str(e, into=self.alloc(e.type.size))
        return self.expr(e)

    def c_strlen(self, e: ast.Call) -> None:
        arg = e.args[0]
        size = arg.type.size
        if isinstance(arg, ast.Call) and arg.func == "str" and arg.args[0].type.kind != "string":
            self.string_operand(arg)  # R0 = what the read copied, the NUL included (or an error: nothing)
            empty, done = self.label(), self.label()
            self.emit(jmp(JmpOp.JSLE, R0, 0, empty), add(R0, -1), ja(done))
            self.place(empty)
            self.emit(mov(R0, 0))
            self.place(done)
            self.emit(ja(0))
            return
        where = self.expr(arg)
        done = self.label()
        if size <= UNROLL_BYTES:
            for i in range(size):
                self.emit(mov(R0, i), ldx(1, R1, FP, where + i), jmp(JmpOp.JEQ, R1, 0, done))
            self.emit(mov(R0, size))
        elif where % 8 == 0:  # a word at a time, WORDS_PER_CALL of them a call; the bytes after the last word here
            words = size // 8
            self.run_loop(*self.strlen_callback(words), (where,), -1, width=4)  # u32: -1 is past any place
            self.emit(jmp(JmpOp.JLT, R0, size, done))
            for k in range(8 * words, size):
                self.emit(mov(R0, k), ldx(1, R1, FP, where + k), jmp(JmpOp.JEQ, R1, 0, done))
            self.emit(mov(R0, size))
        else:
            # the string copied onto itself: the helper stops at the NUL and says how far it went, with no
            # branch per byte.  It ends what it copies with a NUL: a string that fills its size gets its
            # last byte back, and counts it
            last = self.alloc(8)
            self.emit(ldx(1, R1, FP, where + size - 1), stx(8, FP, last, R1))
            self.fp_ptr(R1, where)
            self.emit(mov(R2, size), mov(R3, R1), call("probe_read_kernel_str"),
                      ldx(8, R1, FP, last), stx(1, FP, where + size - 1, R1), add(R0, -1),
                      jmp(JmpOp.JNE, R0, size - 1, done), jmp(JmpOp.JEQ, R1, 0, done), mov(R0, size))
        self.place(done)
        self.emit(ja(0))

    def c_strncmp(self, e: ast.Call) -> None:
        """0 when the first n characters are the same (up to a NUL in both), else 1."""
        a, b = self.string_operand(e.args[0]), self.string_operand(e.args[1])
        n = min(e.args[2].value, e.args[0].type.size, e.args[1].type.size)
        differ, same, done = self.label(), self.label(), self.label()
        self.compare_bytes(a, b, n, differ, same)
        self.r0_from(done, (same, 0), (differ, 1))

    def compare_bytes(self, a: int, b: int, n: int, differ: str, same: str) -> None:
        """Compare the strings at ``a`` and ``b`` over their first n bytes (in line up to UNROLL_BYTES, else in
        a loop): on to ``differ``, or to ``same`` (a NUL in both); on past this when n bytes are alike without
        a NUL."""
        if n <= UNROLL_BYTES:
            for i in range(n):
                self.emit(ldx(1, R1, FP, a + i), ldx(1, R2, FP, b + i), jmp(JmpOp.JNE, R1, R2, differ),
                          jmp(JmpOp.JEQ, R1, 0, same))
            return
        if a % 8 or b % 8:  # the stack wants aligned words: a byte at a time
            self.run_loop(*self.compare_callback(n), (a, b), 2)
            self.emit(jmp(JmpOp.JEQ, R0, 1, differ), jmp(JmpOp.JEQ, R0, 0, same))
            return
        words = n // 8
        self.run_loop(*self.word_compare_callback(words), (a, b), 2)
        self.emit(jmp(JmpOp.JEQ, R0, 1, differ), jmp(JmpOp.JEQ, R0, 0, same))
        for k in range(8 * words, n):
            self.emit(ldx(1, R1, FP, a + k), ldx(1, R2, FP, b + k), jmp(JmpOp.JNE, R1, R2, differ),
                      jmp(JmpOp.JEQ, R1, 0, same))

    def loop_tail(self, state, mark: str, result: int, stop: str) -> None:
        """The end of a loop callback: falling through here goes on looping; ``mark`` sets the result word
        (through the state pointer in ``state``) to ``result`` and stops; ``stop`` stops."""
        self.emit(mov(R0, 0), exit_())
        self.place(mark)
        self.emit(st(8, state, LOOP_RESULT, result))
        self.place(stop)
        self.emit(mov(R0, 1), exit_())

    def chunk_start(self, chunks: int, per_call: int, places: int, stop: str) -> None:
        """The start of a callback(i, state) that looks at ``per_call`` of ``places`` a call: R1 = i * per_call,
        but the last call starts early enough to end at the last place (it looks again at some places the
        call before passed over, which changes no result), so the verifier sees every access in bounds."""
        fits = self.label()
        self.emit(jmp(JmpOp.JGE, R1, chunks, stop), alu(AluOp.MUL, R1, per_call),
                  jmp(JmpOp.JLE, R1, places - per_call, fits), mov(R1, places - per_call))
        self.place(fits)
        self.emit(ja(0))

    def word_loop_head(self, words: int, stop: str, bases: tuple) -> None:
        """The start of a callback(i, state) over ``words`` aligned words (WORDS_PER_CALL or more), that many
        a call: R1 = the first one's byte offset, each of ``bases`` = a string's pointer (from the state) plus
        R1, R6 and R7 the constants of the zero-byte test."""
        self.chunk_start(-(-words // WORDS_PER_CALL), 8 * WORDS_PER_CALL, 8 * words, stop)
        for i, reg in enumerate(bases):
            self.emit(ldx(8, reg, R2, 8 * i), add(reg, R1))
        self.emit(ld_imm64(R6, ZERO_TEST_ONES), ld_imm64(R7, ZERO_TEST_HIGHS))

    def zero_byte_test(self, word, out) -> None:
        """``out`` = non-zero where ``word`` holds a zero byte (``word`` kept)."""
        self.emit(mov(out, word), alu(AluOp.SUB, out, R6), alu(AluOp.XOR, word, -1), alu(AluOp.AND, out, word),
                  alu(AluOp.XOR, word, -1), alu(AluOp.AND, out, R7))

    def word_compare_callback(self, words: int) -> tuple[str, int]:
        """callback(i, state) and its count over ``words`` aligned words of two strings: the result word becomes
        1 where they differ, 0 where both end (a NUL in both); it is left as it was when all are the same.
        A word alike holding a zero byte ends both alike; a word that differs is settled byte by byte."""
        def body() -> None:
            stop, same, differ, bytewise = self.label(), self.label(), self.label(), self.label()
            self.word_loop_head(words, stop, (R3, R4))
            for w in range(WORDS_PER_CALL):
                self.emit(ldx(8, R5, R3, 8 * w), ldx(8, R0, R4, 8 * w), jmp(JmpOp.JNE, R5, R0, bytewise))
                self.zero_byte_test(R5, R8)
                self.emit(jmp(JmpOp.JNE, R8, 0, same))
            self.emit(mov(R0, 0), exit_())
            self.place(bytewise)
            for _ in range(8):
                self.emit(mov(R8, R5), alu(AluOp.AND, R8, 0xFF), mov(R6, R0), alu(AluOp.AND, R6, 0xFF),
                          jmp(JmpOp.JNE, R8, R6, differ), jmp(JmpOp.JEQ, R8, 0, same),
                          alu(AluOp.RSH, R5, 8), alu(AluOp.RSH, R0, 8))
            self.place(differ)
            self.emit(st(8, R2, LOOP_RESULT, 1), ja(stop))
            self.place(same)
            self.emit(st(8, R2, LOOP_RESULT, 0))
            self.place(stop)
            self.emit(mov(R0, 1), exit_())
        return self.callback(("compare words", words), body), -(-words // WORDS_PER_CALL)

    def strlen_callback(self, words: int) -> tuple[str, int]:
        """callback(i, state) and its count over ``words`` aligned words of a string: the u32 at LOOP_NUMBER
        becomes the place of its first zero byte; it is left as it was where the words hold none."""
        def body() -> None:
            stop, hit, at = self.label(), self.label(), self.label()
            self.word_loop_head(words, stop, (R3,))
            for w in range(WORDS_PER_CALL):
                more = self.label()
                self.emit(ldx(8, R5, R3, 8 * w))
                self.zero_byte_test(R5, R8)
                self.emit(jmp(JmpOp.JEQ, R8, 0, more), mov(R4, R1), add(R4, 8 * w), ja(hit))
                self.place(more)
                self.emit(ja(0))
            self.emit(mov(R0, 0), exit_())
            self.place(hit)  # R4 = the word's place, R5 = the word
            for _ in range(8):
                self.emit(mov(R8, R5), alu(AluOp.AND, R8, 0xFF), jmp(JmpOp.JEQ, R8, 0, at), add(R4, 1),
                          alu(AluOp.RSH, R5, 8))
            self.place(at)
            self.emit(stx(4, R2, LOOP_NUMBER, R4))
            self.place(stop)
            self.emit(mov(R0, 1), exit_())
        return self.callback(("strlen words", words), body), -(-words // WORDS_PER_CALL)

    def compare_callback(self, n: int) -> tuple[str, int]:
        """callback(i, state) and its count over the strings' first n bytes, STRING_CHUNK of them a call: the
        result word becomes 1 where the strings differ, 0 where both end (a NUL in both); it is left as it was
        when n bytes are the same."""
        chunks = -(-n // STRING_CHUNK)

        def body() -> None:
            differ, same, stop = self.label(), self.label(), self.label()
            self.chunk_start(chunks, STRING_CHUNK, n, stop)
            self.emit(ldx(8, R3, R2, 0), add(R3, R1), ldx(8, R4, R2, 8), add(R4, R1))
            for k in range(STRING_CHUNK):
                self.emit(ldx(1, R5, R3, k), ldx(1, R0, R4, k), jmp(JmpOp.JNE, R5, R0, differ),
                          jmp(JmpOp.JEQ, R5, 0, same))
            self.emit(mov(R0, 0), exit_())
            self.place(differ)
            self.emit(st(8, R2, LOOP_RESULT, 1), ja(stop))
            self.place(same)
            self.emit(st(8, R2, LOOP_RESULT, 0))
            self.place(stop)
            self.emit(mov(R0, 1), exit_())
        return self.callback(("compare", n), body), chunks

    def c_strcontains(self, e: ast.Call) -> None:
        hay, needle = e.args
        h = self.string_operand(hay)
        literal = needle.value.encode().split(b"\0")[0] if isinstance(needle, ast.String) else None
        hs, ns = hay.type.size, needle.type.size
        n = self.string_operand(needle) if literal is None else None
        if literal == b"":
            self.emit(mov(R0, 1))
        elif literal is not None and len(literal) > hs:
            self.emit(mov(R0, 0))
        elif literal is not None and hs > UNROLL_BYTES:
            self.run_loop(*self.contains_literal_callback(hs, literal), (h,), 0)
        elif literal is None and hs * (ns + 1) > UNROLL_BYTES * UNROLL_BYTES // 8:
            inner = self.callback(("contains at", hs, ns), lambda: self.contains_at_body(hs, ns))
            outer = self.callback(("contains", hs, ns), lambda: self.contains_body(hs, ns, inner))
            self.run_loop(outer, -(-hs // STRING_CHUNK), (h, n), 0)
        else:
            self.contains_unrolled(h, hs, n, ns, literal)

    def contains_literal_callback(self, hs: int, literal: bytes) -> tuple[str, int]:
        """callback(i, state) and its count over the places in the haystack where ``literal`` fits, a few of
        them a call (fewer for a longer literal): the result word becomes 1 where the literal starts; the loop
        stops there or at the haystack's end."""
        fits = hs - len(literal) + 1
        per_call = max(1, min(fits, 8 * STRING_CHUNK, LITERAL_BYTES_PER_CALL // len(literal)))
        chunks = -(-fits // per_call)

        def body() -> None:
            stop, found = self.label(), self.label()
            self.chunk_start(chunks, per_call, fits, stop)
            self.emit(ldx(8, R3, R2, 0), add(R3, R1))
            for k in range(per_call):
                after = self.label()
                for j, byte in enumerate(literal):
                    self.emit(ldx(1, R4, R3, k + j))
                    if j == 0:
                        self.emit(jmp(JmpOp.JEQ, R4, 0, stop))
                    self.emit(jmp(JmpOp.JNE, R4, byte, after))
                self.emit(ja(found))
                self.place(after)
                self.emit(ja(0))
            self.loop_tail(R2, found, 1, stop)
        return self.callback(("contains literal", hs, literal), body), chunks

    def contains_body(self, hs: int, ns: int, inner: str) -> None:
        """callback(i, state) over the haystack's places, STRING_CHUNK of them a call: where one holds the
        needle's first character, is the needle there (``inner`` says, into the result word, 1 at first)?
        The loop stops where it is, or at the haystack's end."""
        stop, found = self.label(), self.label()
        self.chunk_start(-(-hs // STRING_CHUNK), STRING_CHUNK, hs, stop)
        self.emit(mov(R6, R2), mov(R7, R1), ldx(8, R3, R6, 8), ldx(1, R8, R3, 0), jmp(JmpOp.JEQ, R8, 0, found))
        for k in range(STRING_CHUNK):
            after = self.label()
            self.emit(ldx(8, R3, R6, 0), add(R3, R7), ldx(1, R3, R3, k), jmp(JmpOp.JEQ, R3, 0, stop),
                      jmp(JmpOp.JNE, R3, R8, after),
                      mov(R1, R7), add(R1, k), stx(8, R6, LOOP_SPARE, R1), st(8, R6, LOOP_RESULT, 1),
                      mov(R1, -(-ns // min(STRING_CHUNK, ns))), ld_func(R2, inner), mov(R3, R6), mov(R4, 0),
                      call("loop"),
                      ldx(8, R0, R6, LOOP_RESULT), jmp(JmpOp.JNE, R0, 0, stop))
            self.place(after)
            self.emit(ja(0))
        self.loop_tail(R6, found, 1, stop)

    def contains_at_body(self, hs: int, ns: int) -> None:
        """callback(j, state) over the needle's bytes, STRING_CHUNK of them a call: the result word becomes 0
        where the haystack, from the place in the spare word, differs; the loop stops there or at the
        needle's end."""
        per_call = min(STRING_CHUNK, ns)
        differ, stop = self.label(), self.label()
        self.chunk_start(-(-ns // per_call), per_call, ns, stop)
        self.emit(ldx(8, R3, R2, 8), add(R3, R1), ldx(8, R4, R2, LOOP_SPARE), add(R4, R1), ldx(8, R5, R2, 0))
        for k in range(per_call):
            self.emit(ldx(1, R0, R3, k), jmp(JmpOp.JEQ, R0, 0, stop),
                      mov(R8, R4), add(R8, k), jmp(JmpOp.JGE, R8, hs, differ),
                      mov(R6, R5), add(R6, R8), ldx(1, R6, R6, 0), jmp(JmpOp.JNE, R6, R0, differ))
        self.loop_tail(R2, differ, 0, stop)

    def contains_unrolled(self, h: int, hs: int, n: int | None, ns: int, literal: bytes | None) -> None:
        """strcontains() with one compare-and-branch per pair of positions in line: small strings only."""
        found, absent, done = self.label(), self.label(), self.label()
        for i in range(hs):
            next_i = self.label()
            for j in range(len(literal) if literal is not None else ns):
                if literal is None:
                    self.emit(ldx(1, R2, FP, n + j), jmp(JmpOp.JEQ, R2, 0, found))
                if i + j >= hs:
                    self.emit(ja(absent))
                    break
                self.emit(ldx(1, R1, FP, h + i + j))
                if j == 0:
                    self.emit(jmp(JmpOp.JEQ, R1, 0, absent))
                if literal is None:
                    self.emit(jmp(JmpOp.JNE, R1, R2, next_i))
                else:
                    self.emit(jmp(JmpOp.JNE, R1, literal[j], next_i))
            if literal is not None:
                self.emit(ja(found))
            else:
                self.emit(ja(found) if ns <= hs - i else ja(absent))
            self.place(next_i)
            self.emit(ja(0))
        self.r0_from(done, (absent, 0), (found, 1))
