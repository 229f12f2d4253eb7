#!/usr/bin/python3
"""Prints the SOP Class and the transfer syntax of DICOM files, for tests.

  describe_dicom.py FILE...

One line per FILE, in order: "<FILE>\t<SOP Class UID>\t<transfer syntax UID>".
- The SOP Class is the data set's (0008,0016), else the meta header's
  (0002,0002); "-" when neither is there or the file cannot be read.
- The transfer syntax is the meta header's (0002,0010); for a file without
  one, the encoding pydicom detects (implicit/explicit VR, little/big
  endian); "-" when the file cannot be read at all.
Never fails on a bad file (that is what the tests feed it); exit status 0.
Run with /usr/bin/python3 (Debian's pydicom 2.3).
"""

import sys
import warnings

import pydicom

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
EXPLICIT_BE = "1.2.840.10008.1.2.2"


def describe(path):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, force=True, stop_before_pixels=True)
    except Exception:  # any unreadable input is simply "-"
        return "-", "-"
    meta = ds.file_meta if ds.file_meta is not None else {}
    ts = str(meta.get("TransferSyntaxUID", "") or "")
    if not ts:
        if ds.is_implicit_VR:
            ts = IMPLICIT_LE
        else:
            ts = EXPLICIT_LE if ds.is_little_endian else EXPLICIT_BE
    sop_class = ds.get("SOPClassUID") or meta.get("MediaStorageSOPClassUID")
    return (str(sop_class).strip() if sop_class else "-"), ts


def main(paths):
    for path in paths:
        sop_class, ts = describe(path)
        print("%s\t%s\t%s" % (path, sop_class or "-", ts or "-"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
