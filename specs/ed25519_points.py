"""Just enough Edwards25519 arithmetic (RFC 8032 section 5.1) to build edge-case signatures.

The vector generator uses it to make signatures that a lax verifier would
accept: a small-order public key or R, S >= L, and a key with a torsion
component that satisfies the cofactored equation but not the cofactorless
one. tests/protocol/test_ed25519_semantics.py uses it to check that each such
vector really satisfies the equation it claims to, so that the vector tests
the rule and not an accident. Slow and not constant-time: never sign with it.
"""

import hashlib

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)

Point = tuple[int, int, int, int]  # extended coordinates (X, Y, Z, T), x = X/Z, y = Y/Z, xy = T/Z
IDENTITY: Point = (0, 1, 1, 0)


def add(p: Point, q: Point) -> Point:
    a = (p[1] - p[0]) * (q[1] - q[0]) % P
    b = (p[1] + p[0]) * (q[1] + q[0]) % P
    c = 2 * p[3] * q[3] * D % P
    d = 2 * p[2] * q[2] % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def mul(k: int, p: Point) -> Point:
    out = IDENTITY
    while k:
        if k & 1:
            out = add(out, p)
        p, k = add(p, p), k >> 1
    return out


def equal(p: Point, q: Point) -> bool:
    return (p[0] * q[2] - q[0] * p[2]) % P == 0 and (p[1] * q[2] - q[1] * p[2]) % P == 0


def encode(p: Point) -> bytes:
    zinv = pow(p[2], P - 2, P)
    x, y = p[0] * zinv % P, p[1] * zinv % P
    return (y | (x & 1) << 255).to_bytes(32, "little")


def decode(data: bytes) -> Point | None:
    """The point `data` encodes, or None; non-canonical y (y >= p) is accepted here on purpose."""
    value = int.from_bytes(data, "little")
    y, sign = value & (2**255 - 1), value >> 255
    y %= P
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P or (x == 0 and sign):
        return None
    if x & 1 != sign:
        x = P - x
    return (x, y, 1, x * y % P)


BASE = decode(bytes.fromhex("5866666666666666666666666666666666666666666666666666666666666666"))
ORDER_2 = decode((P - 1).to_bytes(32, "little"))  # (0, -1)


def secret_scalar(seed: bytes) -> tuple[int, bytes]:
    """RFC 8032 5.1.5: the clamped scalar a and the nonce prefix of a seed."""
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a = (a & ~7 & (2**254 - 1)) | 2**254
    return a, h[32:]


def challenge(r_enc: bytes, a_enc: bytes, message: bytes) -> int:
    return int.from_bytes(hashlib.sha512(r_enc + a_enc + message).digest(), "little") % L


def sign(a: int, prefix: bytes, a_enc: bytes, message: bytes) -> bytes:
    """An RFC 8032 signature by scalar `a` under the public key encoding `a_enc` (which may lie)."""
    r = int.from_bytes(hashlib.sha512(prefix + message).digest(), "little") % L
    r_enc = encode(mul(r, BASE))
    return r_enc + ((r + challenge(r_enc, a_enc, message) * a) % L).to_bytes(32, "little")


def satisfies(a_enc: bytes, message: bytes, sig: bytes, cofactor: int = 1) -> bool:
    """Whether [c][S]B = [c](R + [k]A) holds, with c = `cofactor` (1: cofactorless, 8: cofactored).

    Checks nothing else: not S < L, not small order, not canonical encodings.
    """
    a_point, r_point = decode(a_enc), decode(sig[:32])
    if a_point is None or r_point is None:
        return False
    s = int.from_bytes(sig[32:], "little")
    left = mul(cofactor, mul(s, BASE))
    right = mul(cofactor, add(r_point, mul(challenge(sig[:32], a_enc, message), a_point)))
    return equal(left, right)


def has_small_order(point: Point) -> bool:
    return equal(mul(8, point), IDENTITY)
