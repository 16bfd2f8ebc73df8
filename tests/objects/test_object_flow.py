"""The /object flow over HTTP on both engines (local files, S3 via moto): what the SDKs do, and what is refused."""

from __future__ import annotations

import hashlib
import io
import os

import pytest
from PIL import Image
from tests.objects.client import BASE, PART, ObjApi, png

from openim.jobs.object_cleanup import ObjectCleanup


def _data(size: int) -> bytes:
    return os.urandom(size)


async def test_part_limit_and_part_size(obj_api: ObjApi) -> None:
    """part_limit reports the configured limits; part_size follows the SDK's formula; sizes past maxSize are 1001."""
    limit = await obj_api.ok("/object/part_limit", {})
    assert limit == {"minPartSize": PART, "maxPartSize": 5 << 30, "maxNumSize": 10000}
    assert await obj_api.ok("/object/part_size", {"size": 10}) == {"size": PART}
    assert (await obj_api.post("/object/part_size", {"size": 0}))["errCode"] == 1001
    assert (await obj_api.post("/object/part_size", {"size": (64 << 20) + 1}))["errCode"] == 1001


async def test_multipart_upload_download_and_ranges(obj_api: ObjApi) -> None:
    """Four parts PUT to signed URLs (two signed at initiation, two by auth_sign) give back the same bytes."""
    data = _data(3 * PART + 1234)
    url = await obj_api.upload(data, "alice/file.bin", content_type="application/x-test")
    assert url == f"{BASE}/object/alice/file.bin"
    got = await obj_api.download(url)
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"].startswith("application/x-test")
    assert int(got.headers["content-length"]) == len(data)
    part = await obj_api.download(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == data[100:200]
    access = await obj_api.ok("/object/access_url", {"name": "alice/file.bin"})
    assert access["expireTime"] > obj_api.clock.now_ms()
    assert (await obj_api.http.get(access["url"])).content == data


async def test_instant_upload_of_a_known_hash(obj_api: ObjApi) -> None:
    """A second upload of the same bytes under another name is answered at once, with no upload to do."""
    data = _data(PART + 10)
    await obj_api.upload(data, "alice/one.bin")
    md5s = [hashlib.md5(data[:PART]).hexdigest(), hashlib.md5(data[PART:]).hexdigest()]
    digest = hashlib.md5(",".join(md5s).encode()).hexdigest()
    req = {"hash": digest, "size": len(data), "partSize": PART, "maxParts": 2, "name": "bob/two.bin"}
    init = await obj_api.ok("/object/initiate_multipart_upload", req, "bob")
    assert init["upload"] is None
    assert init["url"] == f"{BASE}/object/bob/two.bin"
    assert (await obj_api.download(init["url"])).content == data


async def test_wrong_part_md5_is_refused(obj_api: ObjApi) -> None:
    """A part whose bytes differ from the md5 announced is refused at completion (1001); parts off the hash too."""
    data = _data(2 * PART)
    md5s = [hashlib.md5(data[:PART]).hexdigest(), hashlib.md5(data[PART:]).hexdigest()]
    digest = hashlib.md5(",".join(md5s).encode()).hexdigest()
    req = {"hash": digest, "size": len(data), "partSize": PART, "maxParts": 2, "name": "alice/bad.bin"}
    upload = (await obj_api.ok("/object/initiate_multipart_upload", req))["upload"]
    urls = [p["url"] for p in upload["sign"]["parts"]]
    assert (await obj_api.http.put(urls[0], content=data[:PART])).status_code == 200
    assert (await obj_api.http.put(urls[1], content=_data(PART))).status_code == 200  # not the announced bytes
    done = {"uploadID": upload["uploadID"], "parts": md5s, "name": "alice/bad.bin"}
    refused = await obj_api.post("/object/complete_multipart_upload", done)
    assert refused["errCode"] == 1001, refused
    assert "part 2" in refused["errDlt"]
    other = {**done, "parts": [md5s[1], md5s[0]]}
    assert (await obj_api.post("/object/complete_multipart_upload", other))["errCode"] == 1001
    assert (await obj_api.http.get(f"{BASE}/object/alice/bad.bin")).status_code == 404


async def test_names_outside_the_callers_prefix_are_refused(obj_api: ObjApi) -> None:
    """alice may not write under bob/ (1002), nor sign or complete bob's upload; an admin writes anywhere."""
    data = _data(100)
    digest = hashlib.md5(hashlib.md5(data).hexdigest().encode()).hexdigest()
    req = {"hash": digest, "size": 100, "partSize": PART, "maxParts": 1, "name": "bob/x.bin"}
    assert (await obj_api.post("/object/initiate_multipart_upload", req))["errCode"] == 1002
    upload = (await obj_api.ok("/object/initiate_multipart_upload", req, "bob"))["upload"]
    sign = {"uploadID": upload["uploadID"], "partNumbers": [1]}
    assert (await obj_api.post("/object/auth_sign", sign))["errCode"] == 1002
    admin = await obj_api.upload(data, "shared/x.bin", user="imAdmin")
    assert (await obj_api.download(admin)).content == data
    for bad in ("", "/alice/x", "alice/" + "x" * 1100):
        req = {**req, "name": bad}
        assert (await obj_api.post("/object/initiate_multipart_upload", req))["errCode"] == 1001, bad


async def test_unknown_names_and_query_types(obj_api: ObjApi) -> None:
    """access_url of an unknown name is 1004 (GET /object/… 404); an unknown query type is 1001 (GET 400)."""
    assert (await obj_api.post("/object/access_url", {"name": "alice/none"}))["errCode"] == 1004
    assert (await obj_api.http.get(f"{BASE}/object/alice/none")).status_code == 404
    await obj_api.upload(b"hello", "alice/h.txt")
    bad = {"name": "alice/h.txt", "query": {"type": "video"}}
    assert (await obj_api.post("/object/access_url", bad))["errCode"] == 1001
    assert (await obj_api.http.get(f"{BASE}/object/alice/h.txt?type=video")).status_code == 400


async def test_thumbnail_has_the_asked_size_and_is_made_once(obj_api: ObjApi) -> None:
    """type=image&width&height&format scales a real PNG into the box (aspect kept) as JPEG, generated once."""
    url = await obj_api.upload(png(200, 100), "alice/pic.png", content_type="image/png")
    thumb = await obj_api.download(url + "?type=image&width=100&height=80&format=jpg")
    assert thumb.status_code == 200
    assert thumb.headers["content-type"] == "image/jpeg"
    img = Image.open(io.BytesIO(thumb.content))
    assert (img.format, img.size) == ("JPEG", (100, 50))
    first = (await obj_api.http.get(url + "?type=image&width=100&height=80&format=jpg")).headers["location"]
    store = obj_api.runtime.services.object.store
    key = first.split("?")[0].split("/openim/thumbnail/")[1]
    stored = await store.stat("openim/thumbnail/" + key)
    assert stored is not None
    again = await obj_api.download(url + "?type=image&width=100&height=80&format=jpg")
    assert again.content == thumb.content
    assert await store.stat("openim/thumbnail/" + key) == stored  # not written again
    same = await obj_api.download(url + "?type=image&width=200&height=100&format=png")
    assert Image.open(io.BytesIO(same.content)).size == (200, 100)
    assert (await obj_api.http.get(url + "?type=image&width=10&height=10", follow_redirects=True)).status_code == 200


async def test_thumbnail_of_a_jpeg_photo(obj_api: ObjApi) -> None:
    """A JPEG camera picture (the common case) is scaled into the box too, as PNG when asked."""
    img = Image.open(io.BytesIO(png(300, 400))).convert("RGB")
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=90)
    url = await obj_api.upload(out.getvalue(), "alice/photo.jpg", content_type="image/jpeg")
    thumb = await obj_api.download(url + "?type=image&width=60&height=60&format=png")
    assert thumb.status_code == 200
    assert thumb.headers["content-type"] == "image/png"
    assert (Image.open(io.BytesIO(thumb.content)).format, Image.open(io.BytesIO(thumb.content)).size) == (
        "PNG",
        (45, 60),
    )


async def test_form_data_upload(obj_api: ObjApi) -> None:
    """initiate_form_data → a browser-style multipart POST to the policy URL → complete_form_data → same bytes."""
    data = _data(5000)
    req = {"name": "alice/form.bin", "size": len(data), "contentType": "application/octet-stream", "group": "g"}
    form = await obj_api.ok("/object/initiate_form_data", req)
    assert form["file"] == "file"
    files = {form["file"]: ("form.bin", data, "application/octet-stream")}
    posted = await obj_api.http.post(form["url"], data=form["formData"], files=files)
    assert posted.status_code in form["successCodes"], posted.text
    done = await obj_api.ok("/object/complete_form_data", {"id": form["id"]})
    assert done["url"] == f"{BASE}/object/alice/form.bin"
    assert (await obj_api.download(done["url"])).content == data
    assert (await obj_api.post("/object/complete_form_data", {"id": form["id"]}))["errCode"] == 1004
    assert (await obj_api.post("/object/initiate_form_data", {**req, "name": "bob/f"}))["errCode"] == 1002


async def test_form_data_too_large_is_refused(obj_api: ObjApi) -> None:
    """A file larger than the policy allows is refused: by the local store at once (413); moto does not enforce
    content-length-range, so there complete_form_data refuses the size mismatch (1001)."""
    form = await obj_api.ok("/object/initiate_form_data", {"name": "alice/f.bin", "size": 100})
    files = {"file": ("f.bin", _data(5000), "application/octet-stream")}
    posted = await obj_api.http.post(form["url"], data=form["formData"], files=files)
    completed = await obj_api.post("/object/complete_form_data", {"id": form["id"]})
    if obj_api.runtime.services.object.engine == "local":
        assert posted.status_code == 413, posted.text
        assert completed["errCode"] == 1004
    else:
        assert completed["errCode"] == 1001, completed


async def test_cleanup_removes_abandoned_uploads_and_keeps_objects(obj_api: ObjApi) -> None:
    """An upload left unfinished past uploadExpire is removed by the msgtransfer job; completed objects stay."""
    data = _data(10)
    kept = await obj_api.upload(data, "alice/kept.bin")
    part = _data(PART + 1)
    md5s = [hashlib.md5(part[:PART]).hexdigest(), hashlib.md5(part[PART:]).hexdigest()]
    digest = hashlib.md5(",".join(md5s).encode()).hexdigest()
    req = {"hash": digest, "size": len(part), "partSize": PART, "maxParts": 1, "name": "alice/gone.bin"}
    upload = (await obj_api.ok("/object/initiate_multipart_upload", req))["upload"]
    assert (await obj_api.http.put(upload["sign"]["parts"][0]["url"], content=part[:PART])).status_code == 200
    job = ObjectCleanup(obj_api.runtime.services.object, obj_api.clock)
    assert await job.run_once() == 0
    obj_api.clock.advance(86400 + 1)
    assert await job.run_once() == 1
    sign = {"uploadID": upload["uploadID"], "partNumbers": [2]}
    assert (await obj_api.post("/object/auth_sign", sign))["errCode"] == 1004
    assert (await obj_api.http.get(kept)).status_code == 302
    if obj_api.runtime.services.object.engine == "local":
        assert list((obj_api.root / ".uploads").iterdir()) == []


@pytest.mark.parametrize("obj_api", ["local"], indirect=True)
async def test_local_store_refuses_unsigned_tampered_and_expired_urls(obj_api: ObjApi) -> None:
    """The local store answers 403 to a URL without a signature, with a changed parameter or past its expiry
    (moto does not check signatures, so this is the local engine's test)."""
    data = _data(300)
    url = await obj_api.upload(data, "alice/s.bin")
    signed = (await obj_api.http.get(url)).headers["location"]
    assert (await obj_api.http.get(signed)).content == data
    bare = signed.split("?")[0]
    assert (await obj_api.http.get(bare)).status_code == 403
    tampered = signed.replace("expires=", "expires=9")
    assert (await obj_api.http.get(tampered)).status_code == 403
    other = signed.replace("/openim/data/hash/", "/openim/data/hash/0")
    assert (await obj_api.http.get(other)).status_code == 403
    obj_api.clock.advance(7 * 86400 + 1)
    assert (await obj_api.http.get(signed)).status_code == 403
    fresh = (await obj_api.http.get(url)).headers["location"]  # /object/<name> signs anew
    assert (await obj_api.http.get(fresh)).content == data

    part = _data(PART + 1)
    md5s = [hashlib.md5(part[:PART]).hexdigest(), hashlib.md5(part[PART:]).hexdigest()]
    req = {"hash": hashlib.md5(",".join(md5s).encode()).hexdigest(), "size": len(part), "partSize": PART,
           "maxParts": 2, "name": "alice/late.bin"}  # fmt: skip
    upload = (await obj_api.ok("/object/initiate_multipart_upload", req))["upload"]
    first, second = (p["url"] for p in upload["sign"]["parts"])
    assert (await obj_api.http.put(first, content=_data(PART + 1))).status_code == 413  # more than signed for
    obj_api.clock.advance(86400 + 1)
    assert (await obj_api.http.put(second, content=part[PART:])).status_code == 403


async def test_admin_absolute_form_names_must_be_plain_paths(obj_api: ObjApi) -> None:
    """An admin may keep its name as the key (absolute), but not one that climbs out of the store (1001)."""
    req = {"name": "shared/../../etc/x", "size": 10, "absolute": True}
    assert (await obj_api.post("/object/initiate_form_data", req, "imAdmin"))["errCode"] == 1001
    form = await obj_api.ok("/object/initiate_form_data", {**req, "name": "shared/logo.bin"}, "imAdmin")
    assert form["formData"]["key"] == "shared/logo.bin"
