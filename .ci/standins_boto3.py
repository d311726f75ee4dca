"""The stand-ins driven by another implementation: boto3 (botocore's own service models and
SigV4 signer) against the Bedrock Runtime and Comprehend stand-ins, so they are shown to speak
the real protocols, not only what our Rust clients send.

Usage: standins_boto3.py BEDROCK_URL COMPREHEND_URL   (run by .ci/e2e.sh)
"""
import json
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

BEDROCK_URL, COMPREHEND_URL = sys.argv[1], sys.argv[2]
# One attempt: botocore's `max_attempts` counts retries, `total_max_attempts` every attempt.
CONF = Config(retries={"total_max_attempts": 1, "mode": "standard"})
KW = dict(region_name="us-east-1", aws_access_key_id="AKIDLOCAL",
          aws_secret_access_key="local-secret", config=CONF)

SCHEMA = {"type": "object", "required": ["results"], "properties": {"results": {
    "type": "array", "items": {"type": "object"}}}}


def refused(call, code, status, accepted):
    """`call` must fail as botocore parses errors: by error type and HTTP status; `accepted`
    says what went wrong if it does not."""
    try:
        call()
    except ClientError as e:
        assert e.response["Error"]["Code"] == code, e.response
        assert status is None or e.response["ResponseMetadata"]["HTTPStatusCode"] == status
        return
    raise AssertionError(accepted)


def converse(client, posts, choice=None):
    message = json.dumps({"posts": [{"i": i, "text": t} for i, t in enumerate(posts)]})
    return client.converse(
        modelId="amazon.nova-micro-v1:0",  # a ':' that botocore percent-encodes in the path
        system=[{"text": "Classify each post."}],
        messages=[{"role": "user", "content": [{"text": message}]}],
        inferenceConfig={"maxTokens": 64 + 48 * len(posts), "temperature": 0},
        toolConfig={
            "tools": [{"toolSpec": {"name": "record_sentiment", "description": "d",
                                    "inputSchema": {"json": SCHEMA}}}],
            "toolChoice": choice or {"tool": {"name": "record_sentiment"}},
        },
    )


def check_bedrock():
    client = boto3.client("bedrock-runtime", endpoint_url=BEDROCK_URL, **KW)
    # GIVEN three posts WHEN botocore calls Converse THEN a toolUse answers each index
    out = converse(client, ["I love it", "I hate it", "a chair"])
    assert out["stopReason"] == "tool_use", out
    block = out["output"]["message"]["content"][0]["toolUse"]
    labels = [r["label"] for r in sorted(block["input"]["results"], key=lambda r: r["i"])]
    assert labels == ["POSITIVE", "NEGATIVE", "NEUTRAL"], labels
    usage = out["usage"]
    assert usage["inputTokens"] > 0 and usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    # AND a request without toolChoice is refused as botocore parses errors: by error type
    refused(lambda: client.converse(modelId="amazon.nova-micro-v1:0",
                                    messages=[{"role": "user", "content": [{"text": "{}"}]}]),
            "ValidationException", 400, "a request without a tool was accepted")
    # AND an unsigned request is refused
    unsigned = boto3.client("bedrock-runtime", endpoint_url=BEDROCK_URL, region_name="us-east-1",
                            config=Config(signature_version=__import__("botocore").UNSIGNED,
                                          retries={"total_max_attempts": 1}))
    refused(lambda: converse(unsigned, ["x"]), "MissingAuthenticationTokenException", 403,
            "an unsigned request was accepted")
    print("boto3 bedrock-runtime: converse, toolUse, usage, typed errors: ok")


def check_throttled_bedrock(url):
    """The stand-in started with STANDIN_THROTTLE_FIRST=2: botocore reads the header's type,
    and its own retry policy takes the answer for throttling."""
    client = boto3.client("bedrock-runtime", endpoint_url=url, **KW)
    refused(lambda: converse(client, ["x"]), "ThrottlingException", 429, "not throttled")
    retrying = boto3.client("bedrock-runtime", endpoint_url=url, region_name="us-east-1",
                            aws_access_key_id="AKIDLOCAL", aws_secret_access_key="local-secret",
                            config=Config(retries={"total_max_attempts": 3, "mode": "standard"}))
    out = converse(retrying, ["x"])
    assert out["stopReason"] == "tool_use"
    assert out["ResponseMetadata"]["RetryAttempts"] == 1, out["ResponseMetadata"]
    print("boto3 bedrock-runtime: ThrottlingException from x-amzn-ErrorType, retried by botocore: ok")


def check_comprehend():
    client = boto3.client("comprehend", endpoint_url=COMPREHEND_URL, **KW)
    out = client.batch_detect_sentiment(TextList=["I love it", "I hate it"], LanguageCode="en")
    got = [r["Sentiment"] for r in sorted(out["ResultList"], key=lambda r: r["Index"])]
    assert got == ["POSITIVE", "NEGATIVE"], out
    refused(lambda: client.batch_detect_sentiment(TextList=["x"] * 26, LanguageCode="en"),
            "BatchSizeLimitExceededException", None, "26 documents were accepted")
    print("boto3 comprehend: batch_detect_sentiment and its limits: ok")


if __name__ == "__main__":
    check_bedrock()
    check_comprehend()
    if len(sys.argv) > 3:
        check_throttled_bedrock(sys.argv[3])
