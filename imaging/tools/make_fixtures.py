#!/usr/bin/python3
"""Generate imaging/testdata fixtures and their expected outputs.

Independent of the Go code: expected tensors are computed with numpy, DICOM
pixels come from pydicom's pixel_array, EXIF orientation from PIL.

    /usr/bin/python3 imaging/tools/make_fixtures.py   # from the repo root

Needs Debian packages python3-numpy python3-pil python3-pydicom.
Outputs (all small, committed):
  testdata/parity/<case>.png + <case>.f32 (little-endian float32 C*H*W) + cases.json
  testdata/dicom/<case>.dcm + <case>.png (expected 8-bit rendering) + cases.json
  testdata/exif/o<N>.jpg + o<N>.png (PIL exif_transpose of the same JPEG)
"""
import io, json, os
import numpy as np
from PIL import Image, ImageOps
import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.uid import (ExplicitVRLittleEndian, ImplicitVRLittleEndian,
                         ExplicitVRBigEndian, JPEGBaseline8Bit, RLELossless, generate_uid)
from pydicom.encaps import encapsulate

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata")
rng = np.random.default_rng(20240531)


# ---------- preprocessing parity ----------
def area_resize_axis(a, d, axis):
    """Area averaging by repetition: repeat each source pixel d times along
    axis (length s*d), then average groups of s. Exact for any s, d."""
    s = a.shape[axis]
    rep = np.repeat(a, d, axis=axis)
    shape = list(a.shape)
    shape[axis:axis + 1] = [d, s]
    return rep.reshape(shape).mean(axis=axis + 1)


def preprocess(pix, width, height, channels, mean, std):
    x = pix.astype(np.float64)
    if x.ndim == 2:
        x = x[:, :, None]
    if channels == 1 and x.shape[2] == 3:
        x = (x @ np.array([0.299, 0.587, 0.114]))[:, :, None]
    elif channels == 3 and x.shape[2] == 1:
        x = np.repeat(x, 3, axis=2)
    x = area_resize_axis(x, height, 0)
    x = area_resize_axis(x, width, 1)
    x = x / 255.0
    x = (x - np.array(mean, dtype=np.float64)) / np.array(std, dtype=np.float64)
    return x.transpose(2, 0, 1).astype(np.float32)


def parity():
    d = os.path.join(ROOT, "parity")
    cases = [
        # name, source (w, h, c), preprocess (w, h, c), mean, std
        ("grey_same_28", (28, 28, 1), (28, 28, 1), [0.5], [0.5]),
        ("grey_down_odd", (37, 23, 1), (28, 28, 1), [0.5], [0.5]),
        ("grey_up_tiny", (5, 3, 1), (28, 28, 1), [0.1307], [0.3081]),
        ("rgb_to_grey_down", (101, 67, 3), (28, 28, 1), [0.5], [0.25]),
        ("rgb_down_nonsquare", (131, 97, 3), (64, 64, 3), [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
        ("rgb_up_odd", (17, 29, 3), (64, 48, 3), [0.6, 0.5, 0.4], [0.2, 0.3, 0.4]),
        ("grey_to_rgb", (40, 33, 1), (32, 32, 3), [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
        ("rgb_mixed_axes", (19, 80, 3), (28, 28, 3), [0, 0, 0], [1, 1, 1]),
    ]
    manifest = []
    for name, (sw, sh, sc), (w, h, c), mean, std in cases:
        pix = rng.integers(0, 256, size=(sh, sw, sc) if sc == 3 else (sh, sw), dtype=np.uint8)
        Image.fromarray(pix, "RGB" if sc == 3 else "L").save(os.path.join(d, name + ".png"))
        preprocess(pix, w, h, c, mean, std).astype("<f4").tofile(os.path.join(d, name + ".f32"))
        manifest.append({"name": name, "width": w, "height": h, "channels": c, "mean": mean, "std": std})
    json.dump(manifest, open(os.path.join(d, "cases.json"), "w"), indent=1)


# ---------- DICOM ----------
def base_ds(rows, cols, modality, photometric, bits, stored, signed, spp=1):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=["fenzhen", modality, photometric, str(bits), str(rows)])
    meta.ImplementationClassUID = "1.2.826.0.1.3680043.9.7433.1.1"
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = modality
    ds.PatientName = "Test^Fixture"
    # A nested sequence the reader has to skip.
    item = Dataset()
    item.CodeValue = "T-D3000"
    item.CodingSchemeDesignator = "SRT"
    inner = Dataset()
    inner.CodeMeaning = "Chest"
    item.AnatomicRegionModifierSequence = [inner]
    ds.AnatomicRegionSequence = [item]
    # Outer sequence and its item with undefined length, the inner one defined.
    ds["AnatomicRegionSequence"].is_undefined_length = True
    item.is_undefined_length_sequence_item = True
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = spp
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = bits, stored, stored - 1
    ds.PixelRepresentation = 1 if signed else 0
    if spp == 3:
        ds.PlanarConfiguration = 0
    return ds


def render(ds, arr):
    """Independent reference rendering of the first frame to 8 bits."""
    if ds.SamplesPerPixel == 3:
        return arr.astype(np.uint8)
    v = arr.astype(np.float64) * float(getattr(ds, "RescaleSlope", 1)) + float(getattr(ds, "RescaleIntercept", 0))
    if "WindowWidth" in ds:
        wc = ds.WindowCenter if not isinstance(ds.WindowCenter, pydicom.multival.MultiValue) else ds.WindowCenter[0]
        ww = ds.WindowWidth if not isinstance(ds.WindowWidth, pydicom.multival.MultiValue) else ds.WindowWidth[0]
        c, w = float(wc), float(ww)
        y = ((v - (c - 0.5)) / (w - 1) + 0.5) * 255
        y = np.where(v <= c - 0.5 - (w - 1) / 2, 0, np.where(v > c - 0.5 + (w - 1) / 2, 255, y))
    else:
        lo, hi = v.min(), v.max()
        y = (v - lo) / (hi - lo) * 255 if hi > lo else np.zeros_like(v)
    out = np.clip(np.floor(y + 0.5), 0, 255).astype(np.uint8)
    if ds.PhotometricInterpretation == "MONOCHROME1":
        out = 255 - out
    return out


def save_dicom(name, ds, arr, syntax, expected_arr=None, manifest=None, expect=None):
    d = os.path.join(ROOT, "dicom")
    ds.file_meta.TransferSyntaxUID = syntax
    if syntax == JPEGBaseline8Bit:
        pass  # PixelData already set by caller
    else:
        ds.PixelData = arr.tobytes()
        if syntax == RLELossless:
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds.compress(RLELossless, arr)
    ds.is_little_endian = syntax != ExplicitVRBigEndian
    ds.is_implicit_VR = syntax == ImplicitVRLittleEndian
    if syntax == ExplicitVRBigEndian:
        ds.PixelData = arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    path = os.path.join(d, name + ".dcm")
    ds.save_as(path, write_like_original=False)
    back = pydicom.dcmread(path)
    px = back.pixel_array
    if int(getattr(back, "NumberOfFrames", 1)) > 1:
        px = px[0]
    exp = render(back, px) if expected_arr is None else expected_arr
    Image.fromarray(exp, "RGB" if exp.ndim == 3 else "L").save(os.path.join(d, name + ".png"))
    manifest.append(dict(name=name, width=int(back.Columns), height=int(back.Rows),
                         channels=int(back.SamplesPerPixel), modality=str(back.Modality), **(expect or {})))


def dicoms():
    m = []
    y, x = np.mgrid[0:40, 0:56]
    ramp = (x * 7 + y * 3)
    # MONOCHROME2, 8-bit, no window → min/max.
    ds = base_ds(40, 56, "CR", "MONOCHROME2", 8, 8, False)
    save_dicom("mono2_u8", ds, (ramp % 256).astype(np.uint8), ExplicitVRLittleEndian, manifest=m)
    # MONOCHROME1, 16-bit stored 12, window.
    ds = base_ds(40, 56, "DX", "MONOCHROME1", 16, 12, False)
    ds.WindowCenter, ds.WindowWidth = 2000, 3000
    save_dicom("mono1_u16_window", ds, (ramp * 8).astype(np.uint16), ExplicitVRLittleEndian, manifest=m)
    # Signed 16-bit with rescale slope/intercept and a multi-valued window.
    ds = base_ds(33, 47, "CT", "MONOCHROME2", 16, 16, True)
    ds.RescaleSlope, ds.RescaleIntercept = "2", "-1024"
    ds.WindowCenter, ds.WindowWidth = ["40", "300"], ["400", "1500"]
    sig = (rng.normal(0, 400, size=(33, 47))).astype(np.int16)
    save_dicom("ct_s16_rescale_window", ds, sig, ExplicitVRLittleEndian, manifest=m)
    # Signed 16-bit with BitsStored 12 (sign extension from bit 11), no window.
    ds = base_ds(31, 29, "MR", "MONOCHROME2", 16, 12, True)
    ds.RescaleSlope, ds.RescaleIntercept = "0.5", "10"
    s12 = rng.integers(-2048, 2048, size=(31, 29)).astype(np.int16)
    save_dicom("mr_s12_rescale_minmax", ds, s12, ExplicitVRLittleEndian, manifest=m)
    # Implicit VR little endian.
    ds = base_ds(40, 56, "CR", "MONOCHROME2", 16, 16, False)
    ds.WindowCenter, ds.WindowWidth = 300, 500
    save_dicom("implicit_u16", ds, (ramp * 3).astype(np.uint16), ImplicitVRLittleEndian, manifest=m)
    # Explicit VR big endian, 16-bit.
    ds = base_ds(40, 56, "CR", "MONOCHROME2", 16, 16, False)
    save_dicom("bigendian_u16", ds, (ramp * 11).astype(np.uint16), ExplicitVRBigEndian, manifest=m)
    # Multi-frame: 3 frames, first one is rendered.
    ds = base_ds(24, 20, "XA", "MONOCHROME2", 8, 8, False)
    ds.NumberOfFrames = 3
    frames = np.stack([(ramp[:24, :20] + 40 * k) % 256 for k in range(3)]).astype(np.uint8)
    save_dicom("multiframe_u8", ds, frames, ExplicitVRLittleEndian, manifest=m)
    # RGB 8-bit.
    ds = base_ds(30, 36, "XC", "RGB", 8, 8, False, spp=3)
    rgb = rng.integers(0, 256, size=(30, 36, 3), dtype=np.uint8)
    save_dicom("rgb_u8", ds, rgb, ExplicitVRLittleEndian, manifest=m)
    # RLE Lossless, 16-bit grey and RGB.
    ds = base_ds(40, 56, "CR", "MONOCHROME2", 16, 16, False)
    save_dicom("rle_u16", ds, (ramp * 13).astype(np.uint16), RLELossless, manifest=m)
    ds = base_ds(30, 36, "XC", "RGB", 8, 8, False, spp=3)
    save_dicom("rle_rgb", ds, rgb, RLELossless, manifest=m)
    # JPEG baseline (8-bit grey), expected from PIL's decode of the same stream.
    gimg = Image.fromarray(((ramp // 8) * 8 % 256).astype(np.uint8), "L")
    buf = io.BytesIO()
    gimg.save(buf, "JPEG", quality=95)
    ds = base_ds(40, 56, "DX", "MONOCHROME2", 8, 8, False)
    ds.PixelData = encapsulate([buf.getvalue()])
    ds["PixelData"].is_undefined_length = True
    ds["PixelData"].VR = "OB"
    exp = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"))
    save_dicom("jpeg_baseline_grey", ds, None, JPEGBaseline8Bit, expected_arr=exp, manifest=m, expect={"tolerance": 3})
    json.dump(m, open(os.path.join(ROOT, "dicom", "cases.json"), "w"), indent=1)


# ---------- EXIF orientation ----------
def exif_cases():
    d = os.path.join(ROOT, "exif")
    # 48×32 in 16×16 flat blocks of distinct colours: survives JPEG nearly exactly.
    colours = [(230, 30, 30), (30, 200, 30), (30, 30, 220), (240, 240, 40), (40, 220, 220), (200, 40, 200)]
    a = np.zeros((32, 48, 3), np.uint8)
    for by in range(2):
        for bx in range(3):
            a[by * 16:(by + 1) * 16, bx * 16:(bx + 1) * 16] = colours[by * 3 + bx]
    src = Image.fromarray(a, "RGB")
    for o in range(1, 9):
        ex = Image.Exif()
        ex[0x0112] = o
        path = os.path.join(d, "o%d.jpg" % o)
        src.save(path, "JPEG", quality=95, exif=ex.tobytes(), subsampling=0)
        ImageOps.exif_transpose(Image.open(path)).convert("RGB").save(os.path.join(d, "o%d.png" % o))


if __name__ == "__main__":
    parity()
    dicoms()
    exif_cases()
