"""boto3 against example-s3s-server, driven by tests/boto3.rs.

Reads a plan (JSON) on stdin:

    {"endpoint": "http://127.0.0.1:PORT", "access_key": "...", "secret_key": "...",
     "style": "path" | "virtual", "steps": [{"op": "create_bucket", "bucket": "photos"}, ...]}

runs each step with a real boto3 client and prints one JSON list on stdout:
for each step {"ok": true, ...what it returned} or {"ok": false, "code": ...,
"message": ..., "status": ...} for an S3 error. The Rust test makes the
assertions. With "style": "virtual", names under .localhost resolve to
127.0.0.1 in this process only (no /etc/hosts change), and the endpoint
should be http://localhost:PORT.
"""

import base64
import hashlib
import http.client
import json
import socket
import sys
from urllib.parse import urlsplit

import boto3
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError


def resolve_localhost_subdomains():
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo


def client(plan, secret_key=None):
    return boto3.client(
        "s3",
        endpoint_url=plan["endpoint"],
        aws_access_key_id=plan["access_key"],
        aws_secret_access_key=secret_key or plan["secret_key"],
        region_name="us-east-1",
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": plan.get("style", "path")},
            retries={"max_attempts": 1},
            connect_timeout=10,
            read_timeout=30,
        ),
    )


def run(s3, plan, step):
    op = step["op"]
    bucket = step.get("bucket")
    key = step.get("key")
    if op == "create_bucket":
        s3.create_bucket(Bucket=bucket)
        return {}
    if op == "delete_bucket":
        s3.delete_bucket(Bucket=bucket)
        return {}
    if op == "list_buckets":
        return {"buckets": [b["Name"] for b in s3.list_buckets().get("Buckets", [])]}
    if op == "put_object":
        answer = s3.put_object(Bucket=bucket, Key=key, Body=step["body"].encode())
        return {"etag": answer["ETag"]}
    if op == "get_object":
        answer = s3.get_object(Bucket=bucket, Key=key)
        return {"body": answer["Body"].read().decode(), "etag": answer["ETag"]}
    if op == "put_bucket_cors":
        extra = {"ContentMD5": step["content_md5"]} if "content_md5" in step else {}
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": step["rules"]}, **extra)
        return {}
    if op == "get_bucket_cors":
        return {"rules": s3.get_bucket_cors(Bucket=bucket)["CORSRules"]}
    if op == "delete_bucket_cors":
        s3.delete_bucket_cors(Bucket=bucket)
        return {}
    if op == "presign":
        url = s3.generate_presigned_url(
            step["method"],
            Params={"Bucket": bucket, "Key": key},
            ExpiresIn=step.get("expires", 600),
        )
        return {"url": url}
    if op == "raw":
        return raw(plan, step)
    raise ValueError(f"unknown op {op!r}")


def raw(plan, step):
    """A request written by hand, signed with botocore's SigV4 signer (the
    payload hash of "body"), then sent with "send_body" in place of "body"
    when given (a payload hash that does not match), or unsigned with
    "unsigned": true. Content-MD5 of the body is added unless "headers" has
    one or "md5" is false. Answers the status and the body as text."""
    endpoint = urlsplit(plan["endpoint"])
    host = endpoint.netloc
    if step.get("bucket_host"):
        host = f"{step['bucket_host']}.{host}"
    url = f"http://{host}{step['path']}"
    body = step.get("body", "").encode()
    headers = dict(step.get("headers", {}))
    if step.get("md5", True) and body and "Content-MD5" not in headers:
        headers["Content-MD5"] = base64.b64encode(hashlib.md5(body).digest()).decode()
    request = AWSRequest(method=step["method"], url=url, data=body, headers=headers)
    if not step.get("unsigned"):
        secret = step.get("secret_key", plan["secret_key"])
        credentials = Credentials(plan["access_key"], secret)
        S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
    sent = step["send_body"].encode() if "send_body" in step else body
    hostname, _, port = host.rpartition(":")
    connection = http.client.HTTPConnection(hostname, int(port), timeout=30)
    connection.request(step["method"], step["path"], body=sent, headers=dict(request.headers.items()))
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()
    return {"status": response.status, "body": text}


def main():
    plan = json.load(sys.stdin)
    if plan.get("style") == "virtual":
        resolve_localhost_subdomains()
    default = client(plan)
    results = []
    for step in plan["steps"]:
        s3 = client(plan, step["secret_key"]) if "secret_key" in step else default
        try:
            answer = run(s3, plan, step)
            answer["ok"] = True
        except ClientError as err:
            answer = {
                "ok": False,
                "code": err.response.get("Error", {}).get("Code"),
                "message": err.response.get("Error", {}).get("Message"),
                "status": err.response.get("ResponseMetadata", {}).get("HTTPStatusCode"),
            }
        answer["op"] = step["op"]
        results.append(answer)
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
