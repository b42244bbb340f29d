"""eBPF opcode fields (``include/uapi/linux/bpf_common.h`` and ``bpf.h``).

An opcode byte is ``class | size | mode`` for loads/stores and
``class | op | source`` for ALU and jumps.
"""

from purebpf._intconst import IntConst


class Class(IntConst):
    LD = 0x00
    LDX = 0x01
    ST = 0x02
    STX = 0x03
    ALU = 0x04
    JMP = 0x05
    JMP32 = 0x06
    ALU64 = 0x07


class Size(IntConst):
    W = 0x00   # 4 bytes
    H = 0x08   # 2 bytes
    B = 0x10   # 1 byte
    DW = 0x18  # 8 bytes

    @property
    def nbytes(self) -> int:
        return {Size.W: 4, Size.H: 2, Size.B: 1, Size.DW: 8}[self]

    @classmethod
    def of(cls, nbytes: int) -> "Size":
        return {4: cls.W, 2: cls.H, 1: cls.B, 8: cls.DW}[nbytes]


class Mode(IntConst):
    IMM = 0x00
    ABS = 0x20
    IND = 0x40
    MEM = 0x60
    MEMSX = 0x80
    ATOMIC = 0xC0


class Source(IntConst):
    K = 0x00  # immediate
    X = 0x08  # register


class AluOp(IntConst):
    ADD = 0x00
    SUB = 0x10
    MUL = 0x20
    DIV = 0x30
    OR = 0x40
    AND = 0x50
    LSH = 0x60
    RSH = 0x70
    NEG = 0x80
    MOD = 0x90
    XOR = 0xA0
    MOV = 0xB0
    ARSH = 0xC0
    END = 0xD0


class JmpOp(IntConst):
    JA = 0x00
    JEQ = 0x10
    JGT = 0x20
    JGE = 0x30
    JSET = 0x40
    JNE = 0x50
    JSGT = 0x60
    JSGE = 0x70
    CALL = 0x80
    EXIT = 0x90
    JLT = 0xA0
    JLE = 0xB0
    JSLT = 0xC0
    JSLE = 0xD0
    JCOND = 0xE0  # may_goto (src 0), v6.9+


class AtomicOp(IntConst):
    """``imm`` of an atomic instruction; FETCH (0x01) may be or-ed into the ALU ones."""
    ADD = 0x00
    OR = 0x40
    AND = 0x50
    XOR = 0xA0
    FETCH = 0x01
    XCHG = 0xE0 | 0x01
    CMPXCHG = 0xF0 | 0x01
    LOAD_ACQ = 0x100   # load-acquire (v6.15+)
    STORE_REL = 0x110  # store-release (v6.15+)


class PseudoSrc(IntConst):
    """``src`` of a 64-bit immediate load: what the kernel should put there."""
    NONE = 0
    MAP_FD = 1
    MAP_VALUE = 2
    BTF_ID = 3
    FUNC = 4
    MAP_IDX = 5
    MAP_IDX_VALUE = 6


class PseudoCall(IntConst):
    """``src`` of a call: helper (0), bpf-to-bpf call (1), kfunc (2)."""
    HELPER = 0
    CALL = 1
    KFUNC_CALL = 2


# END (byte swap) source bit: to little or big endian
TO_LE = 0x00
TO_BE = 0x08


class Reg(IntConst):
    """A register.  Builders tell a register operand from an immediate by this
    type: ``mov(R1, R6)`` copies a register, ``mov(R1, 6)`` loads the number 6."""
    R0 = 0
    R1 = 1
    R2 = 2
    R3 = 3
    R4 = 4
    R5 = 5
    R6 = 6
    R7 = 7
    R8 = 8
    R9 = 9
    R10 = 10

    def __str__(self) -> str:
        return f"r{self.value}"


R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 = Reg
FP = R10
