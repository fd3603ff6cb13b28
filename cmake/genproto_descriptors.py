"""Writes a FileDescriptorSet of google/api/field_behavior.proto and google/api/resource.proto.

Debian 12 ships no .proto file of the google.api annotations, but its golang-google-genproto-dev
package carries their compiled descriptors (gzipped FileDescriptorProto bytes in the generated Go
code). protoc reads them with --descriptor_set_in, so service.proto can import them, and protoc-c
and the Python generator compile them like any other proto: nothing is copied into the repository.

    genproto_descriptors.py OUT.pb FILE.pb.go...
"""
import gzip
import re
import sys


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def main():
    out = bytearray()
    for path in sys.argv[2:]:
        with open(path, encoding="utf-8") as f:
            src = f.read()
        m = re.search(r"var fileDescriptor_[0-9a-f]+ = \[\]byte\{(.*?)\n\}", src, re.S)
        if not m:
            sys.exit("%s: no fileDescriptor byte array" % path)
        raw = bytes(int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", m.group(1)))
        fd = gzip.decompress(raw)
        out += b"\x0a" + varint(len(fd)) + fd  # FileDescriptorSet.file (field 1)
    with open(sys.argv[1], "wb") as f:
        f.write(out)


if __name__ == "__main__":
    main()
