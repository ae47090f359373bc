"""Tricky containers for the container differential (issue 9 item 4).

cases() returns [(name, bytes, what)], deterministic: zips whose end records,
comments, names or ZIP64 locator can make two readers resolve different
central directories, and tars that only Python's tarfile rules (checksum
spellings, no ustar magic, GNU long names, PAX path/size, global headers,
ReadError points) read correctly.  Member payloads are pickles that call
os.system where a misread would hide them (never unpickled here).
"""
import io
import struct
import tarfile
import zipfile
import zlib

EVIL = b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R."
BENIGN = b"\x80\x02}q\x00."
VERSION = b"3\n"


# ---------------------------------------------------------------- zip helpers

def local(name, data, method=0, lname=None):
    nb = name.encode() if lname is None else lname
    crc = zlib.crc32(data) & 0xFFFFFFFF
    return struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(data),
                       len(data), len(nb), 0) + nb + data


def central(name, data, off, attr=0):
    nb = name.encode()
    crc = zlib.crc32(data) & 0xFFFFFFFF
    return struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0x21, crc, len(data),
                       len(data), len(nb), 0, 0, 0, 0, attr, off) + nb


def eocd(count, cd_size, cd_off, comment_len=0):
    return struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, cd_size, cd_off,
                       comment_len)


def build(entries, base=0, prefix_bytes=b"", attrs=None, lnames=None):
    """Local records and a central directory; offsets shifted by `base`.
    Returns (locals, cd, count)."""
    out = bytearray(prefix_bytes)
    cd = bytearray()
    for i, (name, data) in enumerate(entries):
        off = base + len(out)
        ln = (lnames or {}).get(name)
        out += local(name, data, lname=ln)
        cd += central(name, data, off, (attrs or {}).get(name, 0))
    return bytes(out), bytes(cd), len(entries)


def torch_zip(entries, comment=b""):
    loc, cd, n = build(entries)
    return loc + cd + eocd(n, len(cd), len(loc), len(comment)) + comment


def archive(pkl=BENIGN, extra=()):
    return [("archive/data.pkl", pkl), ("archive/version", VERSION)] + list(extra)


def zip_cases():
    out = []
    benign = torch_zip(archive())
    # 1. a second archive appended: its end record is the last one
    loc, cd, n = build(archive(EVIL), base=len(benign))
    out.append(("zip_appended_archive", benign + loc + cd + eocd(n, len(cd), len(benign) +
                                                                   len(loc)),
                "a second torch archive appended after the first one's end record"))
    # 2. the first end record's comment hides a second end record whose comment
    #    runs past the end (torch's reader takes the second, ignoring comments)
    loc, cd, n = build(archive(EVIL), base=len(benign))
    hidden = loc + cd
    fake = eocd(n, len(cd), len(benign) + len(loc), 0xFFFF)
    first = torch_zip(archive(), comment=hidden + fake)
    out.append(("zip_eocd_comment_past_end", first,
                "a fake end record inside the comment, its own comment running past the end"))
    # 3. a signature in the last 21 bytes (torch skips it, Python's zipfile fails)
    out.append(("zip_eocd_sig_in_tail", torch_zip(archive(), comment=b"PK\x05\x06" + b"\0" * 8),
                "an end-record signature 12 bytes from the end"))
    # 4. two well-formed end records, the first one's comment is the second
    locA, cdA, nA = build(archive())
    locB, cdB, nB = build(archive(EVIL), base=len(locA) + len(cdA))
    data = locA + cdA + locB + cdB
    endA = eocd(nA, len(cdA), len(locA), 22)
    endB = eocd(nB, len(cdB), len(locA) + len(cdA) + len(locB))
    out.append(("zip_two_end_records", data + endA + endB,
                "two well-formed end records naming different central directories"))
    # 5. case: only upper-case names; then names that differ only in case
    out.append(("zip_case_only", torch_zip([("archive/DATA.PKL", EVIL),
                                            ("archive/VERSION", VERSION)]),
                "records named in upper case (torch finds data.pkl without case)"))
    out.append(("zip_case_duplicate", torch_zip(archive() + [("archive/Data.Pkl", EVIL)]),
                "data.pkl and Data.Pkl: which one torch reads is undefined"))
    # 6. local names that differ from the central ones
    loc, cd, n = build(archive(EVIL), lnames={"archive/data.pkl": b"archive/data.txt"})
    out.append(("zip_local_name_differs", loc + cd + eocd(n, len(cd), len(loc)),
                "local header names data.txt, central directory data.pkl"))
    loc, cd, n = build(archive(EVIL), lnames={"archive/data.pkl": b"archive/d"})
    out.append(("zip_local_name_shorter", loc + cd + eocd(n, len(cd), len(loc)),
                "a shorter local name: the data starts where the local lengths say"))
    # 7. data.pkl flagged as a directory (torch returns uninitialised memory)
    loc, cd, n = build(archive(EVIL), attrs={"archive/data.pkl": 0x10})
    out.append(("zip_dir_attribute", loc + cd + eocd(n, len(cd), len(loc)),
                "data.pkl carries the DOS directory attribute"))
    # 8. an entry outside the archive folder
    out.append(("zip_outside_prefix", torch_zip(archive() + [("other/data.pkl", EVIL)]),
                "an entry outside the archive folder"))
    # 9. ZIP64 locator naming a record that is not just before it
    locA, cdA, nA = build(archive())
    locB, cdB, nB = build(archive(EVIL), base=len(locA) + len(cdA))
    z64_fake_off = len(locA) + len(cdA) + len(locB) + len(cdB)
    z64_fake = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, nB, nB, len(cdB),
                           len(locA) + len(cdA) + len(locB))
    z64_real = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, nA, nA, len(cdA),
                           len(locA))
    body = locA + cdA + locB + cdB + z64_fake
    loc64 = struct.pack("<IIQI", 0x07064B50, 0, z64_fake_off, 1)
    end = eocd(0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
    out.append(("zip64_locator_elsewhere", body + z64_real + loc64 + end,
                "the ZIP64 locator names an earlier record than the one before it"))
    # 10. the end record 66,000 bytes before the end (within miniz's reach)
    big = torch_zip(archive(extra=[("archive/data/0", bytes(range(256)) * 400)]))
    out.append(("zip_eocd_far_from_end", big + b"\0" * 66000,
                "66,000 bytes after the end record of a 100 KB archive (miniz searches "
                "up to 69,584 bytes back)"))
    out.append(("zip_eocd_far_small_file", torch_zip(archive()) + b"\0" * 5000,
                "5,000 bytes after the end record of a small file (miniz's search wraps "
                "around and gives up)"))
    # 11. a deflated data.pkl and a CRC that lies (torch does not check CRCs)
    b = bytearray(torch_zip(archive(EVIL)))
    cdo = b.find(b"PK\x01\x02")
    struct.pack_into("<I", b, cdo + 16, 0x12345678)
    out.append(("zip_crc_lies", bytes(b), "a CRC-32 that does not match (torch never checks)"))
    return out


# ---------------------------------------------------------------- tar helpers

def octal(n, width):
    return ("%0*o" % (width - 1, n)).encode() + b"\0"


def tar_header(name, size, typ=b"0", magic=b"ustar\x0000", prefix=b"", chk=None, fill=None,
               mode=b"0000644\0", linkname=b""):
    h = bytearray(512)
    nb = name if isinstance(name, bytes) else name.encode()
    h[0:len(nb)] = nb
    h[100:108] = mode
    h[108:116] = octal(0, 8)
    h[116:124] = octal(0, 8)
    h[124:136] = octal(size, 12)
    h[136:148] = octal(0, 12)
    h[156:157] = typ
    h[157:157 + len(linkname)] = linkname
    h[257:257 + len(magic)] = magic
    h[345:345 + len(prefix)] = prefix
    if fill is not None:
        for i in range(500, 512):
            h[i] = fill
    h[148:156] = b" " * 8
    us = sum(h)
    ss = sum(b - 256 if b >= 128 else b for b in h)
    if chk is None:
        h[148:156] = octal(us, 7) + b" "
    else:
        h[148:156] = chk(us, ss)
    return bytes(h)


def pad(data):
    return data + b"\0" * ((512 - len(data) % 512) % 512)


def member(name, data, **kw):
    return tar_header(name, len(data), **kw) + pad(data)


def pax(records, typ=b"x", name="PaxHeader"):
    body = b""
    for k, v in records:
        rec = b" " + k + b"=" + v + b"\n"
        n = len(rec) + 1
        while len(str(n).encode()) + len(rec) != n:
            n += 1
        body += str(n).encode() + rec
    return tar_header(name, len(body), typ=typ) + pad(body)


END = b"\0" * 1024
STOR = b"\x80\x02K\x00.\x80\x02]q\x00."
TENS = b"\x80\x02K\x00."


def torch_tar(pickle=BENIGN, **kw):
    return (member("storages", STOR, **kw) + member("tensors", TENS, **kw) +
            member("pickle", pickle, **kw) + END)


def tar_cases():
    out = []
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for n, d in (("storages", STOR), ("tensors", TENS), ("pickle", BENIGN)):
            ti = tarfile.TarInfo(n)
            ti.size = len(d)
            t.addfile(ti, io.BytesIO(d))
    out.append(("tar_ustar", bio.getvalue(), "a ustar tar written by tarfile"))
    out.append(("tar_v7_no_magic", torch_tar(EVIL, magic=b""),
                "old (v7) headers without the ustar magic"))
    out.append(("tar_gnu_longname", member("storages", STOR) + member("tensors", TENS) +
                tar_header("././@LongLink", 7, typ=b"L") + pad(b"pickle\0") +
                member("benign", EVIL) + END,
                "a GNU long-name record renames 'benign' to 'pickle'"))
    out.append(("tar_pax_path", member("storages", STOR) + member("tensors", TENS) +
                pax([(b"path", b"pickle")]) + member("notes.txt", EVIL) + END,
                "a PAX path record renames 'notes.txt' to 'pickle'"))
    out.append(("tar_pax_global_path", member("storages", STOR) + member("tensors", TENS) +
                pax([(b"path", b"pickle///")], typ=b"g", name="GlobalHead") +
                member("notes.txt", EVIL) + END,
                "a global PAX path renames every later member"))
    out.append(("tar_pax_size", member("storages", STOR) + member("tensors", TENS) +
                pax([(b"size", str(len(EVIL)).encode())]) +
                tar_header("pickle", 0) + pad(EVIL) + END,
                "a PAX size record: the header says 0 bytes, tarfile reads the pickle"))
    out.append(("tar_prefix_no_magic", member("storages", STOR) + member("tensors", TENS) +
                member("pickle", EVIL, magic=b"", prefix=b"a") + END,
                "a ustar prefix without the magic: the member is 'a/pickle'"))
    out.append(("tar_signed_checksum", torch_tar(EVIL, fill=0xff,
                                                 chk=lambda us, ss: octal(ss, 7) + b" "),
                "checksums as signed sums (bytes >= 0x80)"))
    spell = [lambda us, ss: ("0o%o" % us).encode().ljust(8, b"\0"),
             lambda us, ss: (" +%o_\0" % us).encode()[:8].ljust(8, b"\0"),
             lambda us, ss: ("%s" % "_".join("%o" % us)).encode()[:8].ljust(8, b" "),
             lambda us, ss: b"\x80" + us.to_bytes(7, "big"),
             lambda us, ss: ("\x1c%o\x1f" % us).encode().ljust(8, b"\0")]
    for i, f in enumerate(spell):
        out.append(("tar_checksum_spelling_%d" % i, torch_tar(EVIL, chk=f),
                    "checksum field spelled the way nti() reads it (#%d)" % i))
    out.append(("tar_bad_checksum", torch_tar(EVIL, chk=lambda us, ss: octal(us + 1, 7) + b" "),
                "bad checksums: not a tar, torch reads a pickle stream"))
    t = torch_tar(EVIL)
    out.append(("tar_truncated_padding", t[:2560 + len(EVIL) + 3],
                "the last member's padding is cut: tarfile raises ReadError"))
    out.append(("tar_duplicate_pickle", member("storages", STOR) + member("tensors", TENS) +
                member("pickle", BENIGN) + member("pickle", EVIL) + END,
                "two 'pickle' members: tarfile takes the last"))
    out.append(("tar_symlink_pickle", member("storages", STOR) + member("tensors", TENS) +
                member("evil", EVIL) + tar_header("pickle", 0, typ=b"2", linkname=b"evil") +
                END, "'pickle' is a symlink to another member"))
    out.append(("tar_dir_with_size", member("storages", STOR) + member("tensors", TENS) +
                tar_header("d", 1024, typ=b"5") + member("pickle", EVIL) + END,
                "a directory that declares 1024 bytes: tarfile does not skip them"))
    out.append(("tar_unknown_type", member("storages", STOR) + member("tensors", TENS) +
                member("pickle", EVIL, typ=b"Z") + END,
                "'pickle' of an unknown type: read as a regular file"))
    out.append(("tar_all_zero_first", b"\0" * 2048, "512 zero bytes: an empty tar"))
    out.append(("tar_pax_bad_first", pax([(b"path", b"x")])[:520] + b"9" * 10 +
                pax([(b"path", b"x")])[530:] + torch_tar(EVIL),
                "a malformed PAX record at offset 0: ReadError"))
    out.append(("tar_pax_bad_later", member("storages", STOR) + member("tensors", TENS) +
                tar_header("PaxHeader", 5, typ=b"x") + pad(b"5 x\n\0") +
                member("pickle", EVIL) + END,
                "a malformed PAX record after two members: the listing ends"))
    out.append(("tar_longname_missing_next", member("storages", STOR) +
                tar_header("././@LongLink", 7, typ=b"L") + pad(b"pickle\0"),
                "a GNU long name with no header after it: ReadError"))
    out.append(("tar_magic_then_pickle", torch_tar(EVIL, magic=b"ustar  \0"),
                "GNU magic"))
    return out


def cases():
    return zip_cases() + tar_cases()


if __name__ == "__main__":
    import os
    import sys
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    for n, b, _ in cases():
        with open(os.path.join(d, n + ".pt"), "wb") as f:
            f.write(b)
    print(len(cases()))
