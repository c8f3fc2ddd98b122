"""n-bit codes (n = 1, 2, 4 or 8) packed into bytes, least significant bits first.

Code i of a tensor sits in byte i * n // 8 at bit (i * n) % 8: with n = 4 the codes [1, 2, 3] pack into the
bytes [0x21, 0x03].  The last byte is padded with zero bits, so N codes take ceil(N * n / 8) bytes.
"""
import numpy as np

PACKABLE_BITS = (1, 2, 4, 8)


def packed_length(n_codes, bits):
    """How many bytes `n_codes` codes of `bits` bits take."""
    return -(-n_codes * bits // 8)


def pack_codes(codes, bits):
    """codes: (N,) integers in [0, 2**bits) -> (ceil(N * bits / 8),) uint8."""
    _check_bits(bits)
    codes = np.asarray(codes).ravel()
    if codes.size and (codes.min() < 0 or codes.max() >= 1 << bits):
        raise ValueError(f"codes must lie in [0, {1 << bits}) to pack into {bits} bits")
    per_byte = 8 // bits
    padded = np.zeros(packed_length(codes.size, bits) * per_byte, np.uint8)
    padded[:codes.size] = codes
    shifts = np.arange(per_byte, dtype=np.uint8) * bits
    # each row's codes occupy disjoint bits, so their sum is their bitwise or
    return (padded.reshape(-1, per_byte) << shifts).sum(axis=1, dtype=np.uint8)


def unpack_codes(packed, bits, n_codes):
    """packed: (ceil(n_codes * bits / 8),) uint8 from pack_codes -> (n_codes,) uint8 codes."""
    _check_bits(bits)
    packed = np.asarray(packed, dtype=np.uint8).ravel()
    if packed.size != packed_length(n_codes, bits):
        raise ValueError(f"{n_codes} codes of {bits} bits take {packed_length(n_codes, bits)} bytes, "
                         f"got {packed.size}")
    per_byte = 8 // bits
    shifts = np.arange(per_byte, dtype=np.uint8) * bits
    mask = np.uint8((1 << bits) - 1)
    return ((packed[:, None] >> shifts) & mask).ravel()[:n_codes]


def _check_bits(bits):
    if bits not in PACKABLE_BITS:
        raise ValueError(f"codes of {bits} bits cannot be packed; choose {', '.join(map(str, PACKABLE_BITS))}")
