"""Object stores: where the bytes of pictures, voice, video and files live, behind one `ObjectStore` protocol.

`LocalStore` (files under a folder, served by the API role with HMAC-signed URLs) and `S3Store` (any
S3-compatible server through boto3: MinIO, AWS S3, ...). The object service (`services/object/`) decides names,
sizes and who may do what; a store only keeps keys and signs URLs for them.
"""

from __future__ import annotations

from openim.infra.objects.local import LocalStore
from openim.infra.objects.store import FormUpload, ObjectStore, PartMismatch, SignedPart, SignedParts, StoredObject

__all__ = ["FormUpload", "LocalStore", "ObjectStore", "PartMismatch", "SignedPart", "SignedParts", "StoredObject"]
