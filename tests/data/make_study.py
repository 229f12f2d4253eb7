#!/usr/bin/python3
"""Writes one synthetic DICOM study as Part-10 files, for tests and benchmarks.

Run with Debian's interpreter (/usr/bin/python3), which has pydicom 2.3 and
numpy (apt-get install python3-pydicom python3-numpy).

  make_study.py --out DIR --count N [--rows 64] [--columns 64]
                [--patient-id ID] [--patient-name NAME] [--modality CT|MR]
                [--study-uid UID] [--series-count 1] [--series-uid UID]
                [--sop-instance-uid UID] [--seed N]

What it promises:
- N files DIR/IM_00001.dcm ... DIR/IM_<N>.dcm (DIR is created), one study,
  the instances spread round-robin over --series-count series.
- CT Image Storage (or MR Image Storage with --modality MR), Explicit VR
  Little Endian, 16-bit MONOCHROME2 (12 bits stored) pixel data of random
  values: Rows x Columns x 2 bytes of pixel data per file (512 x 512 is
  about 0.5 MB).
- A proper file meta header; generated UIDs are "2.25.<128-bit integer>"
  (at most 44 characters), unique per run unless --seed is given, in which
  case the same arguments give byte-identical files.
- The encoding is what DCMTK itself writes for such a data set (explicit
  lengths, no group length elements, no sequences, even-length values, no
  trailing padding), so storescu sends the data set exactly as it is in
  the file and a bit-preserving receiver stores it unchanged.
- --sop-instance-uid (only with --count 1), --series-uid (only with
  --series-count 1) and --study-uid are written as given, unchecked, so
  tests can craft invalid UIDs. Values that are not valid UIDs make pydicom
  warn on stderr; the file is written all the same.
- Prints one line per file on stdout: "<path>\t<SOPInstanceUID>".
  Exit status 0 on success, 2 on bad arguments.
"""

import argparse
import datetime
import hashlib
import os
import random
import sys
import uuid
import warnings

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
IMPLEMENTATION_CLASS_UID = "2.25.229460186163478526546829046497924372853"
IMPLEMENTATION_VERSION_NAME = "HOKAN_MKSTUDY"


def parse_args(argv):
    p = argparse.ArgumentParser(description="Write a synthetic DICOM study.")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--count", type=int, required=True, help="number of instances")
    p.add_argument("--rows", type=int, default=64)
    p.add_argument("--columns", type=int, default=64)
    p.add_argument("--patient-id", default="HOKAN0001")
    p.add_argument("--patient-name", default="TEST^PATIENT")
    p.add_argument("--modality", choices=["CT", "MR"], default="CT")
    p.add_argument("--study-uid", help="StudyInstanceUID (default: generated)")
    p.add_argument("--series-count", type=int, default=1)
    p.add_argument("--series-uid", help="SeriesInstanceUID (only with --series-count 1)")
    p.add_argument("--sop-instance-uid", help="SOPInstanceUID (only with --count 1)")
    p.add_argument("--seed", type=int, help="make the output reproducible")
    args = p.parse_args(argv)
    if args.count < 1 or args.series_count < 1 or args.series_count > args.count:
        p.error("need 1 <= --series-count <= --count")
    if not (1 <= args.rows <= 65535 and 1 <= args.columns <= 65535):
        p.error("--rows and --columns must be 1..65535")
    if args.sop_instance_uid is not None and args.count != 1:
        p.error("--sop-instance-uid needs --count 1")
    if args.series_uid is not None and args.series_count != 1:
        p.error("--series-uid needs --series-count 1")
    return args


class UidSource:
    """2.25.<uuid as integer> UIDs: random, or reproducible from a seed."""

    def __init__(self, seed):
        self._rng = random.Random(seed) if seed is not None else None

    def next(self):
        if self._rng is None:
            value = uuid.uuid4().int
        else:
            value = uuid.UUID(int=self._rng.getrandbits(128), version=4).int
        return "2.25.%d" % value


def make_instance(args, uids, pixel_rng, study_uid, series_uid, series_number,
                  instance_number, sop_instance_uid, when):
    sop_class = CT_IMAGE_STORAGE if args.modality == "CT" else MR_IMAGE_STORAGE

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_instance_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME

    ds = FileDataset(None, Dataset(), file_meta=meta, preamble=b"\0" * 128)
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_instance_uid
    ds.StudyDate = when.strftime("%Y%m%d")
    ds.SeriesDate = ds.StudyDate
    ds.StudyTime = when.strftime("%H%M%S")
    ds.SeriesTime = ds.StudyTime
    ds.AccessionNumber = "A" + hashlib.sha1(study_uid.encode()).hexdigest()[:8].upper()
    ds.Modality = args.modality
    ds.Manufacturer = "hokan tests"
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = "synthetic study"
    ds.SeriesDescription = "synthetic series %d" % series_number
    ds.PatientName = args.patient_name
    ds.PatientID = args.patient_id
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.BodyPartExamined = "CHEST"
    ds.SliceThickness = "1.0"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = "1"
    ds.SeriesNumber = series_number
    ds.InstanceNumber = instance_number
    ds.ImagePositionPatient = [0, 0, instance_number]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.FrameOfReferenceUID = uids.frame_of_reference
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = args.rows
    ds.Columns = args.columns
    ds.PixelSpacing = [0.5, 0.5]
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    if args.modality == "CT":
        ds.RescaleIntercept = "-1024"
        ds.RescaleSlope = "1"
    pixels = pixel_rng.integers(0, 4096, size=(args.rows, args.columns), dtype=np.uint16)
    ds.PixelData = pixels.astype("<u2").tobytes()
    ds["PixelData"].VR = "OW"

    ds.is_little_endian = True
    ds.is_implicit_VR = False
    return ds


def main(argv):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    uids = UidSource(args.seed)
    uids.frame_of_reference = uids.next()
    pixel_rng = np.random.default_rng(args.seed)
    when = (datetime.datetime(2024, 1, 2, 3, 4, 5) if args.seed is not None
            else datetime.datetime.now())

    study_uid = args.study_uid if args.study_uid is not None else uids.next()
    if args.series_uid is not None:
        series_uids = [args.series_uid]
    else:
        series_uids = [uids.next() for _ in range(args.series_count)]

    width = max(5, len(str(args.count)))
    for i in range(args.count):
        series_index = i % args.series_count
        sop_uid = args.sop_instance_uid if args.sop_instance_uid is not None else uids.next()
        ds = make_instance(args, uids, pixel_rng, study_uid, series_uids[series_index],
                           series_index + 1, i // args.series_count + 1, sop_uid, when)
        path = os.path.join(args.out, "IM_%0*d.dcm" % (width, i + 1))
        with warnings.catch_warnings():
            # Crafted invalid UIDs are the point of some tests: warn once, on stderr.
            warnings.simplefilter("default")
            ds.save_as(path, write_like_original=False)
        print("%s\t%s" % (path, sop_uid), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
