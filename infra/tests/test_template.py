"""The template against the Rust sources, so neither can drift from the other.

GIVEN the env vars each function reads (found by scanning its config module and crate for the
lookup calls, not listed by hand) and infra/template.yaml,
THEN every var a function reads is set on that function by the template, the template sets no
var the function does not read, every template parameter is used, each function's crate is
named like its function, and `[package.metadata.lambda.deploy]` agrees with the template's
defaults.

Run by `make infra-check` with the pytest pinned in infra/requirements.txt.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"


def sources(crate: str, *files: str) -> list[Path]:
    """`crates/<crate>/src/<file>` for each file."""
    return [ROOT / "crates" / crate / "src" / f for f in files]


# The kernel's modules every function's settings go through: the log init, and the
# function-level settings (deadline margin, metrics namespace).
KERNEL = sources("kernel", "log.rs", "env.rs")

# Each deployed function: its template resource, its crate, and the modules its settings are
# read in (its domain's config module, its adapters' config modules, the kernel's, and the
# crate itself: its composition and registry).
FUNCTIONS = {
    "TransformFunction": {
        "crate": ROOT / "crates" / "firehose-transform",
        "config": sources("transform", "config.rs")
        + sources("sentiment", "comprehend_config.rs", "bedrock_config.rs")
        + sources("firehose-transform", "config.rs", "registry.rs")
        + KERNEL,
        "canary": "SENTIMENT_BACKEND",
    },
    "ProducerFunction": {
        "crate": ROOT / "crates" / "stream-producer",
        "config": sources("producer", "config.rs")
        + sources("sources", "jetstream/config.rs", "http/config.rs", "http/mastodon_config.rs",
                  "http/http_json_config.rs", "file.rs", "dynamodb.rs")
        + sources("stream-producer", "config.rs", "registry.rs")
        + KERNEL,
        "canary": "STREAM_NAME",
    },
    "PurgeFunction": {
        "crate": ROOT / "crates" / "deletion-purge",
        "config": sources("purge", "config.rs") + sources("deletion-purge", "handler.rs") + KERNEL,
        "canary": "PURGE_PENDING_ALARM_HOURS",
    },
}

# Vars a function reads that the deployed stack deliberately leaves unset, with the reason.
NOT_SET_ON_AWS = {
    "ProducerFunction": {
        "CURSOR_DIR": "the file cursor store is for local runs; the stack sets CURSOR_STORE=dynamodb",
        "MASTODON_LOCAL": "replaced by MASTODON_TIMELINE; read only to refuse a start that still sets it",
        **{
            var: "Jetstream's tuning keeps the code's defaults; set on the function to change"
            for var in (
                "JETSTREAM_FALLBACK_URLS",
                "JETSTREAM_REPLAY_MS",
                "JETSTREAM_MAX_FRAME_BYTES",
                "JETSTREAM_STALL_MS",
                "JETSTREAM_CONNECT_TIMEOUT_MS",
            )
        },
    },
    "TransformFunction": {
        var: "Bedrock's retries keep the code's defaults (6 attempts, 50-2000 ms); set on the function to change"
        for var in ("BEDROCK_MAX_ATTEMPTS", "BEDROCK_BACKOFF_BASE_MS", "BEDROCK_BACKOFF_CAP_MS")
    },
}

# Differences between a crate's `[package.metadata.lambda.deploy]` and the template that are
# known and waiting for a decision, each with its reason. The test fails when one disappears, so
# the entry gets removed with the fix.
KNOWN_METADATA_DIFFERENCES: dict[str, dict[str, str]] = {
    "PurgeFunction": {
        "env:BUCKET": (
            "the stack's bucket has a generated name (DataBucket sets no BucketName), so the "
            "template's BUCKET has no default to compare; the crate's metadata names a placeholder "
            "bucket, and `cargo lambda deploy deletion-purge` must be given the stack's "
            "DataBucketName output instead"
        ),
    },
}

# Lambda sets these itself (reserved or runtime-provided); a function may read them freely.
RUNTIME_PREFIXES = ("AWS_", "LAMBDA_", "_HANDLER", "_X_AMZN")

# The lookup helpers the config modules call with the variable's name as first argument.
LOOKUP_CALL = re.compile(
    r"\b(?:env|self)\s*\.\s*(?:get|number|optional_number|millis|choice|flag|pointer|url|invalid)\s*\(\s*\"([A-Z][A-Z0-9_]*)\""
)
# Names built elsewhere and passed on (e.g. a retry helper mapping a prefix to three names):
# any SCREAMING_SNAKE literal with an underscore that is not a match-arm pattern.
SNAKE_LITERAL = re.compile(r"\"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\"(?!\s*=>)")
# Direct reads in a crate's own code.
STD_ENV_READ = re.compile(r"\benv::var(?:_os)?\s*\(\s*\"([A-Z][A-Z0-9_]*)\"")
RUST_LOG_READ = re.compile(r"\bEnvFilter::(?:try_)?from_default_env\b|\bfrom_default_env\s*\(")


def non_test_part(source: str) -> str:
    """The code before the first `#[cfg(test)]` (tests mention variables they only set)."""
    return source.split("#[cfg(test)]", 1)[0]


def vars_read(function: str) -> set[str]:
    spec = FUNCTIONS[function]
    found: set[str] = set()
    for module in spec["config"]:
        code = non_test_part(module.read_text(encoding="utf-8"))
        found |= set(LOOKUP_CALL.findall(code))
        found |= set(SNAKE_LITERAL.findall(code))
        if RUST_LOG_READ.search(code):
            found.add("RUST_LOG")
    for path in sorted((spec["crate"] / "src").rglob("*.rs")):
        code = non_test_part(path.read_text(encoding="utf-8"))
        found |= set(STD_ENV_READ.findall(code))
        if RUST_LOG_READ.search(code):
            found.add("RUST_LOG")
    found = {v for v in found if not v.startswith(RUNTIME_PREFIXES)}
    # Fail loudly if the scan stopped matching the sources (helpers renamed, module moved).
    assert len(found) >= 10, f"{function}: the env scan found only {sorted(found)}; has the config code changed shape?"
    assert spec["canary"] in found, f"{function}: the env scan missed {spec['canary']}; has the config code changed shape?"
    return found


# --------------------------------------------------------------------------- template loading


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (`!Ref`, `!Sub`, `!If`, ...)."""


def _construct_tag(loader: CfnLoader, suffix: str, node: yaml.Node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    if suffix == "Condition":
        return {"Condition": value}
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _construct_tag)


@pytest.fixture(scope="module")
def template() -> dict:
    return yaml.load(TEMPLATE.read_text(encoding="utf-8"), Loader=CfnLoader)


def references(node, out: set[str]) -> set[str]:
    """Every name a node refers to: Ref targets and ${Name} in Sub strings."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                out.add(value)
            elif key == "Fn::Sub":
                text, variables = (value, {}) if isinstance(value, str) else (value[0], value[1])
                for name in re.findall(r"\$\{([^!}][^}]*)\}", text):
                    if name not in variables:
                        out.add(name.split(".", 1)[0])
                references(variables, out)
            else:
                references(value, out)
    elif isinstance(node, list):
        for item in node:
            references(item, out)
    return out


def env_of(template: dict, function: str) -> dict:
    return template["Resources"][function]["Properties"]["Environment"]["Variables"]


# --------------------------------------------------------------------------- env vars


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_every_var_the_function_reads_is_set_by_the_template(template, function):
    read = vars_read(function)
    unset = set(NOT_SET_ON_AWS.get(function, {}))
    missing = sorted(read - unset - set(env_of(template, function)))
    assert not missing, f"{function} reads {missing} but infra/template.yaml does not set them"


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_the_template_sets_no_var_the_function_does_not_read(template, function):
    stale = sorted(set(env_of(template, function)) - vars_read(function))
    assert not stale, f"infra/template.yaml sets {stale} on {function}, which its code never reads"


@pytest.mark.parametrize("function", sorted(NOT_SET_ON_AWS))
def test_the_deliberately_unset_vars_are_still_read(template, function):
    stale = sorted(set(NOT_SET_ON_AWS[function]) - vars_read(function))
    assert not stale, f"NOT_SET_ON_AWS lists {stale} for {function}, which its code no longer reads"
    assert not set(NOT_SET_ON_AWS[function]) & set(env_of(template, function))


# --------------------------------------------------------------------------- parameters


def test_every_parameter_is_used(template):
    body = {k: v for k, v in template.items() if k not in ("Parameters", "Metadata")}
    used = references(body, set())
    unused = sorted(set(template["Parameters"]) - used)
    assert not unused, f"parameters never referenced: {unused}"


def test_every_parameter_is_in_the_console_groups(template):
    grouped = {
        p
        for group in template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
        for p in group["Parameters"]
    }
    assert grouped == set(template["Parameters"]), (
        f"not grouped: {sorted(set(template['Parameters']) - grouped)}, "
        f"grouped but undeclared: {sorted(grouped - set(template['Parameters']))}"
    )


def test_the_reference_scan_sees_refs_and_subs():
    node = {"A": {"Ref": "One"}, "B": {"Fn::Sub": "x-${Two}-${!Literal}-${Three.Arn}"}, "C": {"Fn::Sub": ["${Four}", {"Four": {"Ref": "Five"}}]}}
    assert references(node, set()) == {"One", "Two", "Three", "Five"}


# --------------------------------------------------------------------------- crates and cargo-lambda metadata


# Properties that name a resource, so `Ref` to it is known before deployment.
NAME_PROPERTIES = ("Name", "TableName", "FunctionName")


def param_default(template: dict, value) -> str | None:
    """The value an env var gets with default parameters; None for names only the stack knows."""
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        # Every Fn::If asks IcebergDestination, false with the default Destination (s3).
        return param_default(template, value["Fn::If"][2])
    if isinstance(value, dict) and set(value) == {"Ref"}:
        target = value["Ref"]
        if target in template["Parameters"]:
            return str(template["Parameters"][target].get("Default", ""))
        props = template["Resources"].get(target, {}).get("Properties", {})
        for name in NAME_PROPERTIES:
            if name in props:
                return param_default(template, props[name])
        return None
    if isinstance(value, (str, int)):
        return str(value)
    return None


def function_property(template: dict, function: str, name: str):
    value = template["Resources"][function]["Properties"][name]
    return param_default(template, value)


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_the_crate_is_named_like_the_function(template, function):
    resource = template["Resources"][function]
    # sam builds in source: `cargo lambda build --bin <Binary>` in CodeUri, then copies
    # CodeUri/target/lambda/<Binary>/bootstrap, which in a workspace is under the workspace root.
    assert (TEMPLATE.parent / resource["Properties"]["CodeUri"]).resolve() == ROOT
    assert resource["Metadata"]["BuildMethod"] == "rust-cargolambda"
    crate = FUNCTIONS[function]["crate"]
    assert resource["Metadata"]["BuildProperties"]["Binary"] == crate.name
    manifest = crate / "Cargo.toml"
    if not manifest.exists():
        pytest.skip(f"{crate.relative_to(ROOT)} is not written yet")
    package = tomllib.loads(manifest.read_text(encoding="utf-8"))["package"]["name"]
    assert package == crate.name == function_property(template, function, "FunctionName"), (
        "package name = binary = default function name, so `cargo lambda deploy` updates the stack's function"
    )


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_cargo_lambda_deploy_metadata_agrees_with_the_template(template, function):
    manifest = FUNCTIONS[function]["crate"] / "Cargo.toml"
    if not manifest.exists():
        pytest.skip(f"{manifest.relative_to(ROOT)} is not written yet")
    deploy = (
        tomllib.loads(manifest.read_text(encoding="utf-8"))
        .get("package", {})
        .get("metadata", {})
        .get("lambda", {})
        .get("deploy")
    )
    if deploy is None:
        pytest.skip(f"{manifest.relative_to(ROOT)} has no [package.metadata.lambda.deploy]")
    props = template["Resources"][function]["Properties"]
    found: dict[str, tuple] = {}

    def compare(key: str, metadata, expected) -> None:
        if str(metadata).lower() != str(expected).lower():
            found[key] = (metadata, expected)

    compare("memory", deploy.get("memory"), function_property(template, function, "MemorySize"))
    compare("timeout", deploy.get("timeout"), function_property(template, function, "Timeout"))
    # The template sets no Tracing (PassThrough): its roles have no X-Ray permissions.
    compare("tracing", deploy.get("tracing", "PassThrough"), props.get("Tracing", "PassThrough"))
    # `cargo lambda deploy` replaces the whole environment with `env`; a var it leaves out falls
    # back to the code's default. Every var it does set must hold the template's default.
    env = deploy.get("env", deploy.get("env_var", {}))
    template_env = env_of(template, function)
    for var, value in env.items():
        if var in template_env:
            compare(f"env:{var}", value, param_default(template, template_env[var]))
    extra = sorted(set(env) - set(template_env))
    assert not extra, f"metadata sets {extra}, which the template does not"

    known = KNOWN_METADATA_DIFFERENCES.get(function, {})
    unexplained = {k: v for k, v in found.items() if k not in known}
    assert not unexplained, f"metadata vs template defaults, as (metadata, template): {unexplained}"
    fixed = sorted(set(known) - set(found))
    assert not fixed, f"{fixed} now agree: remove them from KNOWN_METADATA_DIFFERENCES"


def test_the_dashboard_body_is_json_once_substituted(template):
    import json

    body, variables = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert set(variables) <= {"Ns", "Dlq", "PurgeDlq", "DeliveryStream", "Delivered", "Freshness"}
    widgets = json.loads(re.sub(r"\$\{[^}!][^}]*\}", "x", body))["widgets"]
    titles = {w["properties"].get("title") for w in widgets}
    assert {"Sentiment mix", "Comprehend: calls, retries, units", "Transform: records"} <= titles
    assert {"Purge: deletions", "Purge: pending deletions", "Purge: objects and runs"} <= titles


# --------------------------------------------------------------------------- OutputFormat=parquet

NO_VALUE = {"Ref": "AWS::NoValue"}


def resolve(node, conditions: dict[str, bool]):
    """The node as deployed with `conditions`: each Fn::If taken, AWS::NoValue dropped."""
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            name, yes, no = node["Fn::If"]
            return resolve(yes if conditions[name] else no, conditions)
        out = {k: resolve(v, conditions) for k, v in node.items()}
        return {k: v for k, v in out.items() if v != NO_VALUE}
    if isinstance(node, list):
        return [v for v in (resolve(i, conditions) for i in node) if v != NO_VALUE]
    return node


def deployed(template: dict, output_format: str) -> dict:
    conditions = {name: False for name in template["Conditions"]}
    conditions["Parquet"] = output_format == "parquet"
    return resolve(template["Resources"], conditions)


def test_output_format_is_a_parameter_deciding_the_parquet_condition(template):
    param = template["Parameters"]["OutputFormat"]
    assert param["AllowedValues"] == ["json", "parquet"]
    assert param["Default"] == "json"
    assert template["Conditions"]["Parquet"] == {"Fn::Equals": [{"Ref": "OutputFormat"}, "parquet"]}


def test_conversion_needs_buffers_of_at_least_64_mb(template):
    # Record format conversion (like dynamic partitioning) refuses S3 buffers under 64 MiB.
    assert template["Parameters"]["S3BufferSizeMB"]["MinValue"] >= 64


@pytest.mark.parametrize("output_format", ["json", "parquet"])
def test_the_delivery_stream_converts_exactly_when_parquet(template, output_format):
    resources = deployed(template, output_format)
    s3 = resources["PartitionedDeliveryStream"]["Properties"]["ExtendedS3DestinationConfiguration"]
    assert "!{firehose:error-output-type}" in s3["ErrorOutputPrefix"]
    if output_format == "json":
        assert "DataFormatConversionConfiguration" not in s3
        assert s3["CompressionFormat"] == {"Ref": "OutputCompression"}
        return
    conversion = s3["DataFormatConversionConfiguration"]
    assert conversion["Enabled"] is True
    assert set(conversion["InputFormatConfiguration"]["Deserializer"]) == {"OpenXJsonSerDe"}
    assert set(conversion["OutputFormatConfiguration"]["Serializer"]) == {"ParquetSerDe"}
    schema = conversion["SchemaConfiguration"]
    assert schema["DatabaseName"] == {"Ref": "GlueDatabase"}
    assert schema["TableName"] == {"Ref": "PostsTable"}
    assert schema["RoleARN"] == {"Fn::GetAtt": ["FirehoseRole", "Arn"]}
    # The Parquet SerDe compresses; S3-level compression must be off with conversion.
    assert s3["CompressionFormat"] == "UNCOMPRESSED"


@pytest.mark.parametrize("output_format", ["json", "parquet"])
def test_the_firehose_role_reads_the_glue_table_only_when_parquet(template, output_format):
    resources = deployed(template, output_format)
    statements = resources["FirehoseRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    glue = [s for s in statements if any(str(a).startswith("glue:") for a in _as_list(s["Action"]))]
    if output_format == "json":
        assert glue == []
        return
    assert len(glue) == 1
    assert sorted(glue[0]["Action"]) == ["glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"]
    resources_named = [r["Fn::Sub"] for r in glue[0]["Resource"]]
    assert [r.rsplit(":", 1)[1] for r in resources_named] == [
        "catalog",
        "database/${GlueDatabase}",
        "table/${GlueDatabase}/${PostsTable}",
    ]


def _as_list(value):
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize(
    ("output_format", "serde", "classification"),
    [
        ("json", "org.openx.data.jsonserde.JsonSerDe", "json"),
        ("parquet", "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe", "parquet"),
    ],
)
def test_the_glue_table_reads_the_format_delivered(template, output_format, serde, classification):
    table = deployed(template, output_format)["PostsTable"]["Properties"]["TableInput"]
    assert table["Parameters"]["classification"] == classification
    storage = table["StorageDescriptor"]
    assert storage["SerdeInfo"]["SerializationLibrary"] == serde
    assert ("Parquet" in storage["InputFormat"]) == (output_format == "parquet")
    assert ("Parquet" in storage["OutputFormat"]) == (output_format == "parquet")
    columns = {c["Name"] if isinstance(c["Name"], str) else c["Name"]["Ref"]: c["Type"] for c in storage["Columns"]}
    # The sentiment member, with its nested scores (crates/parquet/src/lib.rs checks every column).
    assert columns["SentimentField"].startswith("struct<label:string,scores:struct<positive:double,")
    # The default source's records (Bluesky, through Jetstream): every field it writes has a column.
    bluesky = {"id": "string", "did": "string", "rkey": "string", "cid": "string", "time_us": "bigint",
               "created_at": "string", "text": "string", "lang": "string", "langs": "array<string>",
               "reply_to": "string", "tags": "array<string>", "url": "string", "source": "string"}
    assert {k: columns.get(k) for k in bluesky} == bluesky


# --------------------------------------------------------------------------- Bedrock IAM


def evaluate(node, params: dict, conditions: dict):
    """A node with the intrinsic functions the Bedrock statement uses evaluated."""
    r = lambda n: evaluate(n, params, conditions)  # noqa: E731
    if isinstance(node, list):
        return [x for x in (r(n) for n in node) if x is not None]
    if not isinstance(node, dict):
        return node
    if "Ref" in node:
        return None if node["Ref"] == "AWS::NoValue" else params[node["Ref"]]
    if "Fn::If" in node:
        name, yes, no = node["Fn::If"]
        return r(yes if conditions[name] else no)
    if "Fn::Select" in node:
        i, items = node["Fn::Select"]
        return r(items)[i]
    if "Fn::Split" in node:
        sep, text = node["Fn::Split"]
        return r(text).split(sep)
    if "Fn::Join" in node:
        sep, items = node["Fn::Join"]
        return sep.join(r(items))
    if "Fn::Sub" in node:
        spec = node["Fn::Sub"]
        text, extra = (spec, {}) if isinstance(spec, str) else (spec[0], r(spec[1]))
        values = {**params, **extra}
        return re.sub(r"\$\{([^}]+)\}", lambda m: values.get(m.group(1), m.group(0)), text)
    return {k: r(v) for k, v in node.items()}


def bedrock_statement(template: dict, backend: str, model: str):
    params = {"BedrockModelId": model, "AWS::Partition": "aws", "AWS::Region": "us-east-1",
              "AWS::AccountId": "123456789012"}
    geo = model.split(".")[0]
    conditions = {"UsesBedrock": backend == "bedrock",
                  "BedrockProfile": geo in ("us", "eu", "apac", "global")}
    policy = template["Resources"]["TransformRole"]["Properties"]["Policies"][0]
    statements = evaluate(policy["PolicyDocument"]["Statement"], params, conditions)
    found = [s for s in statements if s.get("Sid") == "BedrockConverse"]
    return found[0] if found else None


@pytest.mark.parametrize(
    "model, resources",
    [
        ("amazon.nova-micro-v1:0",
         ["arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0"]),
        ("us.amazon.nova-micro-v1:0",
         ["arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-micro-v1:0",
          "arn:aws:bedrock:*::foundation-model/amazon.nova-micro-v1:0"]),
        ("eu.anthropic.claude-3-haiku-20240307-v1:0",
         ["arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.anthropic.claude-3-haiku-20240307-v1:0",
          "arn:aws:bedrock:*::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"]),
    ],
)
def test_bedrock_may_invoke_exactly_the_configured_model(template, model, resources):
    # GIVEN SentimentBackend=bedrock and a model or inference profile id
    statement = bedrock_statement(template, "bedrock", model)
    # THEN the role may call InvokeModel (what Converse is authorised as) on it and nothing else
    assert statement["Action"] == "bedrock:InvokeModel"
    assert statement["Resource"] == resources


def test_no_bedrock_permission_without_the_bedrock_backend(template):
    assert bedrock_statement(template, "comprehend", "amazon.nova-micro-v1:0") is None
    allowed = template["Parameters"]["SentimentBackend"]["AllowedValues"]
    assert set(allowed) == {"comprehend", "bedrock", "lexicon"}


# --------------------------------------------------------------------------- the producer's empty-source alarm


def test_the_source_empty_alarm_reads_the_metric_the_producer_writes(template):
    # GIVEN the producer's EMF document (crates/producer/src/metrics.rs) and the alarm
    metrics = (ROOT / "crates" / "producer" / "src" / "metrics.rs").read_text(encoding="utf-8")
    alarm = template["Resources"]["ProducerSourceEmptyAlarm"]["Properties"]
    # THEN it watches that metric, in that namespace, under the FunctionName dimension set
    assert f'("{alarm["MetricName"]}", Unit::Count' in metrics
    assert '&["FunctionName"]' in metrics
    assert alarm["Namespace"] == {"Ref": "MetricsNamespace"}
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "ProducerFunction"}}]
    # AND it alarms only when every run of each period was empty, for N periods in a row
    assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "Minimum", 1, "GreaterThanOrEqualToThreshold")
    assert alarm["EvaluationPeriods"] == alarm["DatapointsToAlarm"] == {"Ref": "SourceEmptyAlarmHours"}
    # AND its longest window fits the one day an alarm may evaluate
    assert alarm["Period"] * template["Parameters"]["SourceEmptyAlarmHours"]["MaxValue"] <= 86_400
    assert alarm["TreatMissingData"] == "notBreaching"


def test_the_mastodon_timeline_pattern_takes_what_the_producer_takes():
    pattern = re.compile(yaml.load(TEMPLATE.read_text(encoding="utf-8"), Loader=CfnLoader)
                         ["Parameters"]["MastodonTimeline"]["AllowedPattern"])
    for ok in ["public", "local", "remote", "tag:rustlang", "tag:café"]:
        assert pattern.fullmatch(ok), ok
    # The producer refuses these too (crates/sources/src/http/mastodon_config.rs, MastodonTimeline::parse).
    for bad in ["", "federated", "tag:", "tag:#rust", "tag:a/b", "tag:two words"]:
        assert not pattern.fullmatch(bad), bad


# --------------------------------------------------------------------------- deletions (issue 21)
# Posts to data/, deletion and account records to deletions/ (the transform's `area` key), the
# deletion-purge Lambda rewriting data/ on a schedule, the deletions table and the posts_live view.

PURGE_METRICS = ROOT / "crates" / "purge" / "src" / "metrics.rs"
TRANSFORM = ROOT / "crates" / "transform" / "src" / "transform.rs"


def statements_of(template: dict, role: str) -> list[dict]:
    """A role's statements; conditional ones (`!If`) as deployed with every condition false."""
    policies = template["Resources"][role]["Properties"]["Policies"]
    conditions = {name: False for name in template["Conditions"]}
    return [s for p in policies for s in resolve(p["PolicyDocument"]["Statement"], conditions)]


def sub_text(value) -> str:
    """The text of a `!Sub` with its names left in, or a plain string."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        spec = value["Fn::Sub"]
        return spec if isinstance(spec, str) else spec[0]
    assert isinstance(value, str), value
    return value


def with_defaults(template: dict, text: str, names: dict[str, str] | None = None) -> str:
    """`text` with each ${Parameter} at its default, each ${Resource} as `names` says, ${!x} as ${x}."""
    names = names or {}

    def one(m: re.Match) -> str:
        name = m.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in names:
            return names[name]
        if name in template["Parameters"]:
            return str(template["Parameters"][name]["Default"])
        raise AssertionError(f"no value for ${{{name}}}")

    return re.sub(r"\$\{([^}]+)\}", one, text)


def test_the_purge_role_reaches_only_data_deletions_and_purge(template):
    # GIVEN the purge's role
    assert template["Resources"]["PurgeFunction"]["Properties"]["Role"] == {"Fn::GetAtt": ["PurgeRole", "Arn"]}
    statements = statements_of(template, "PurgeRole")
    assert all(s["Effect"] == "Allow" for s in statements)
    granted = {
        (action, sub_text(r) if not (isinstance(r, dict) and "Fn::GetAtt" in r) else ".".join(r["Fn::GetAtt"]))
        for s in statements for action in _as_list(s["Action"]) for r in _as_list(s["Resource"])
    }
    # THEN it may do exactly this: its logs, its dead-letter queue, and S3 on three prefixes
    bucket = "${DataBucket.Arn}"
    assert granted == {
        ("logs:CreateLogStream", "${PurgeLogGroup.Arn}"),
        ("logs:PutLogEvents", "${PurgeLogGroup.Arn}"),
        ("sqs:SendMessage", "PurgeDeadLetterQueue.Arn"),
        ("s3:ListBucket", "DataBucket.Arn"),
        ("s3:GetObject", f"{bucket}/data/*"),
        ("s3:GetObject", f"{bucket}/deletions/*"),
        ("s3:GetObject", f"{bucket}/purge/*"),
        ("s3:PutObject", f"{bucket}/data/*"),
        ("s3:PutObject", f"{bucket}/purge/*"),
        ("s3:DeleteObject", f"{bucket}/data/*"),
        ("s3:DeleteObject", f"{bucket}/purge/*"),
    }
    # AND listing is held to the same prefixes (IfExists: see the template for the 404 reason)
    (listing,) = [s for s in statements if "s3:ListBucket" in _as_list(s["Action"])]
    assert listing["Condition"] == {"StringLikeIfExists": {"s3:prefix": ["data/*", "deletions/*", "purge/*"]}}
    # AND nothing else: no Glue, Athena, KMS or wildcard, and deletions/ is never written
    services = {a.split(":")[0] for s in statements for a in _as_list(s["Action"])}
    assert services == {"logs", "sqs", "s3"}
    assert not any("*" in a for s in statements for a in _as_list(s["Action"]))
    assert not any(a in ("s3:PutObject", "s3:DeleteObject") and "/deletions/" in r for a, r in granted)


def test_the_firehose_role_writes_the_deletions_area(template):
    statements = statements_of(template, "FirehoseRole")
    writes = {sub_text(r) for s in statements if "s3:PutObject" in _as_list(s["Action"]) for r in _as_list(s["Resource"])}
    assert writes == {"${DataBucket.Arn}/data/*", "${DataBucket.Arn}/deletions/*", "${DataBucket.Arn}/errors/*"}


def _rate_seconds(expression: str) -> int:
    m = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression)
    assert m, f"not a rate(...) expression: {expression}"
    return int(m.group(1)) * {"minute": 60, "hour": 3600, "day": 86400}[m.group(2).rstrip("s")]


def test_the_purge_runs_on_its_own_schedule_one_run_at_a_time(template):
    resources = template["Resources"]
    schedule = resources["PurgeSchedule"]["Properties"]
    function = resources["PurgeFunction"]["Properties"]
    params = template["Parameters"]
    # GIVEN the purge's schedule THEN it invokes the purge, hourly by default, and can be paused
    assert schedule["Target"]["Arn"] == {"Fn::GetAtt": ["PurgeFunction", "Arn"]}
    assert schedule["ScheduleExpression"] == {"Ref": "PurgeScheduleExpression"}
    assert params["PurgeScheduleExpression"]["Default"] == "rate(1 hour)"
    assert schedule["State"] == {"Ref": "PurgeScheduleState"}
    assert params["PurgeScheduleState"]["AllowedValues"] == ["ENABLED", "DISABLED"]
    assert schedule["Target"]["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["PurgeDeadLetterQueue", "Arn"]}
    # AND the scheduler's role may invoke it
    invoke = [s for s in statements_of(template, "SchedulerRole") if s["Sid"] == "InvokeThePurge"]
    assert invoke and invoke[0]["Action"] == "lambda:InvokeFunction"
    # AND a run never overlaps the next: one reserved execution, and a timeout below the interval
    assert function["ReservedConcurrentExecutions"] == {"Fn::If": ["PurgeReserved", 1, NO_VALUE]}
    assert params["PurgeReserveConcurrency"]["Default"] == "true"
    assert int(params["PurgeTimeoutSeconds"]["Default"]) < _rate_seconds(params["PurgeScheduleExpression"]["Default"])
    assert params["PurgeTimeoutSeconds"]["MaxValue"] <= 900
    # AND a failed run is not retried at once (the next resumes) but dead-lettered
    assert function["EventInvokeConfig"]["MaximumRetryAttempts"] == 0
    assert function["DeadLetterQueue"] == {"Type": "SQS", "TargetArn": {"Fn::GetAtt": ["PurgeDeadLetterQueue", "Arn"]}}
    # AND it has its own log group, whose name is the function's
    log_group = resources["PurgeLogGroup"]["Properties"]
    assert log_group["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${PurgeFunctionName}"}
    assert log_group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_the_purge_reads_the_layout_the_stack_writes(template):
    env = env_of(template, "PurgeFunction")
    assert env["BUCKET"] == {"Ref": "DataBucket"}
    assert (env["DATA_PREFIX"], env["DELETIONS_PREFIX"], env["STATE_KEY"]) == ("data/", "deletions/", "purge/state.json")
    # The purge's defaults are the same (crates/purge/src/config.rs), so `kinesis-sentiment
    # purge` over a copy of the bucket finds the same areas.
    config = (ROOT / "crates" / "purge" / "src" / "config.rs").read_text(encoding="utf-8")
    for const, value in [("DEFAULT_DATA_PREFIX", "data/"), ("DEFAULT_DELETIONS_PREFIX", "deletions/"),
                         ("DEFAULT_STATE_KEY", "purge/state.json"), ("DEFAULT_ACCOUNT_STATUSES", "deleted,takendown")]:
        assert f'{const}: &str = "{value}"' in config
    assert template["Parameters"]["PurgeAccountStatuses"]["Default"] == "deleted,takendown"


def _emf_metric_names() -> set[str]:
    code = non_test_part(PURGE_METRICS.read_text(encoding="utf-8"))
    # The `("Name", value)` pairs of to_emf's loop, and metrics written one by one.
    return set(re.findall(r'\(\s*"([A-Z][A-Za-z]+)",', code)) | set(re.findall(r'metric\(\s*"([A-Z][A-Za-z]+)"', code))


def test_the_pending_alarm_reads_the_metric_the_purge_writes(template):
    # GIVEN the purge's EMF document (crates/purge/src/metrics.rs) and the alarm
    code = non_test_part(PURGE_METRICS.read_text(encoding="utf-8"))
    alarm = template["Resources"]["PurgeDeletionsPendingAlarm"]["Properties"]
    # THEN it watches that metric, in the namespace the function is given, under FunctionName
    assert alarm["MetricName"] == "DeletionsPendingTooLong"
    assert '("DeletionsPendingTooLong", self.deletions_pending_too_long)' in code
    assert 'emf.finish(namespace, &[&["FunctionName"]]' in code
    assert alarm["Namespace"] == {"Ref": "MetricsNamespace"}
    assert env_of(template, "PurgeFunction")["METRICS_NAMESPACE"] == {"Ref": "MetricsNamespace"}
    # The dimension's value is the Lambda's own name (ks_lambda::function_name), i.e. Ref PurgeFunction.
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "PurgeFunction"}}]
    assert (alarm["Statistic"], alarm["ComparisonOperator"]) == ("Maximum", "GreaterThanThreshold")
    assert alarm["Threshold"] == {"Ref": "PendingDeletionsAlarmThreshold"}
    assert template["Parameters"]["PendingDeletionsAlarmThreshold"]["Default"] == 0
    # AND both the pending alarm and the errors alarm notify the alarm topic
    errors = template["Resources"]["PurgeErrorsAlarm"]["Properties"]
    assert (errors["Namespace"], errors["MetricName"]) == ("AWS/Lambda", "Errors")
    assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "PurgeFunction"}}]
    topic = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], NO_VALUE]}
    for a in (alarm, errors, template["Resources"]["PurgeDeadLetterAlarm"]["Properties"]):
        assert a["AlarmActions"] == topic


def test_the_dashboard_shows_only_metrics_the_purge_writes(template):
    import json

    body, _ = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(re.sub(r"\$\{[^}!][^}]*\}", "x", body))["widgets"]
    written = _emf_metric_names()
    assert {"DeletionsPendingTooLong", "DeletionsPending", "ObjectsUnreadable", "PassIncomplete",
            "RecordsRemoved", "ObjectsRead", "ObjectsInBucket"} <= written
    shown = set()
    for w in widgets:
        if not w["properties"].get("title", "").startswith("Purge"):
            continue
        namespace = None
        for row in w["properties"]["metrics"]:
            namespace = row[0] if row[0] != "." else namespace
            if namespace == "x":  # ${Ns}
                shown.add(row[1])
    assert shown and shown <= written, f"not written by the purge: {sorted(shown - written)}"


def _prefix(template_prefix: str, area: str, label: str) -> str:
    """A Firehose S3 prefix evaluated for one record delivered at 2026-01-02T03:00Z."""
    out = template_prefix.replace("!{timestamp:yyyy/MM/dd/HH}", "2026/01/02/03")
    out = out.replace("!{partitionKeyFromLambda:area}", area).replace("!{partitionKeyFromLambda:sentiment}", label)
    assert "!{" not in out, out
    return out


@pytest.mark.parametrize("by_label", [False, True])
def test_the_delivery_stream_puts_posts_in_data_and_deletions_in_deletions(template, by_label):
    # GIVEN the delivery stream with DynamicPartitioning false (default) or true
    conditions = {name: False for name in template["Conditions"]}
    conditions["Partitioned"] = by_label
    s3 = resolve(template["Resources"]["PartitionedDeliveryStream"], conditions)["Properties"][
        "ExtendedS3DestinationConfiguration"]
    # THEN dynamic partitioning is on either way (the area key needs it)
    assert s3["DynamicPartitioningConfiguration"]["Enabled"] is True
    # AND a post lands under data/<hour>/ and a deletion under deletions/<hour>/ (a label below)
    post, deletion = _prefix(s3["Prefix"], "data", "POSITIVE"), _prefix(s3["Prefix"], "deletions", "NONE")
    if by_label:
        assert (post, deletion) == ("data/2026/01/02/03/POSITIVE/", "deletions/2026/01/02/03/NONE/")
    else:
        assert (post, deletion) == ("data/2026/01/02/03/", "deletions/2026/01/02/03/")
    # AND the error prefix uses no Lambda key (Firehose refuses one there)
    assert "partitionKeyFromLambda" not in s3["ErrorOutputPrefix"]
    assert s3["ErrorOutputPrefix"].startswith("errors/")
    # AND the keys the prefix uses are the ones the transform returns, with the areas it names
    code = TRANSFORM.read_text(encoding="utf-8")
    for key in re.findall(r"partitionKeyFromLambda:([a-z]+)", s3["Prefix"]):
        assert f'("{key}".to_owned()' in code, key
    assert 'Area::Data => "data"' in code and 'Area::Deletions => "deletions"' in code
    # AND dynamic partitioning's 64 MB floor holds
    assert template["Parameters"]["S3BufferSizeMB"]["MinValue"] >= 64


def test_the_transform_returns_partition_keys_on_an_s3_stack(template):
    env = resolve(env_of(template, "TransformFunction"), {**{c: False for c in template["Conditions"]}})
    assert env["PARTITION_KEYS"] == "true"


def test_the_producer_forwards_deletions_by_default(template):
    assert env_of(template, "ProducerFunction")["JETSTREAM_DELETIONS"] == {"Ref": "JetstreamDeletions"}
    assert template["Parameters"]["JetstreamDeletions"]["Default"] == "true"


def _columns(storage: dict) -> dict[str, str]:
    return {c["Name"] if isinstance(c["Name"], str) else c["Name"]["Ref"]: c["Type"] for c in storage["Columns"]}


@pytest.mark.parametrize("output_format", ["json", "parquet"])
def test_the_deletions_table_reads_the_deletions_area(template, output_format):
    resources = deployed(template, output_format)
    table = resources["DeletionsTable"]["Properties"]["TableInput"]
    posts = resources["PostsTable"]["Properties"]["TableInput"]
    names = {"DataBucket": "BUCKET"}
    # GIVEN the deletions table THEN it lies over deletions/, projected by hour like posts
    assert with_defaults(template, sub_text(table["StorageDescriptor"]["Location"]), names) == "s3://BUCKET/deletions/"
    assert with_defaults(template, sub_text(table["Parameters"]["storage.location.template"]), names) == (
        "s3://BUCKET/deletions/${dt}/")
    same = ["projection.enabled", "projection.dt.type", "projection.dt.format", "projection.dt.interval",
            "projection.dt.interval.unit", "projection.dt.range", "classification"]
    assert {k: table["Parameters"][k] for k in same} == {k: posts["Parameters"][k] for k in same}
    assert table["PartitionKeys"] == posts["PartitionKeys"]
    # AND it reads the format delivered (Parquet converted with the posts schema)
    for key in ("InputFormat", "OutputFormat", "SerdeInfo"):
        assert table["StorageDescriptor"][key] == posts["StorageDescriptor"][key]
    # AND its columns are the deletion and account records' fields, each a posts column of the
    # same type, so Parquet written with the posts schema reads by name
    columns = _columns(table["StorageDescriptor"])
    assert columns == {"op": "string", "id": "string", "did": "string", "rkey": "string", "collection": "string",
                       "time_us": "bigint", "active": "boolean", "status": "string", "source": "string"}
    post_columns = _columns(posts["StorageDescriptor"])
    assert all(post_columns[c] == t for c, t in columns.items())


def test_deletions_are_kept_as_long_as_the_posts(template):
    rules = {r["Id"]: r for r in template["Resources"]["DataBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert rules["ExpireDeletions"]["Prefix"] == "deletions/"
    assert rules["ExpireDeletions"]["ExpirationInDays"] == rules["ExpireDeliveredData"]["ExpirationInDays"]
    # The object versions the purge replaces do not outlive a week.
    assert rules["CleanUpOldVersionsAndUploads"]["NoncurrentVersionExpiration"]["NoncurrentDays"] <= 7


# --- the posts_live view

HIVE_TO_PRESTO = {"string": "varchar", "bigint": "bigint", "boolean": "boolean", "double": "double"}


def presto_type(hive: str) -> str:
    """A Hive type (Glue) as Athena writes it in a Presto view: struct -> row, array<> -> array()."""
    if hive in HIVE_TO_PRESTO:
        return HIVE_TO_PRESTO[hive]
    if hive.startswith("array<"):
        return f"array({presto_type(hive[6:-1])})"
    assert hive.startswith("struct<") and hive.endswith(">"), hive
    fields, depth, start, body = [], 0, 0, hive[7:-1]
    for i, ch in enumerate(body + ","):
        depth += ch in "<("
        depth -= ch in ">)"
        if ch == "," and depth == 0:
            name, typ = body[start:i].split(":", 1)
            fields.append(f"{name} {presto_type(typ)}")
            start = i + 1
    return f"row({','.join(fields)})"


def view_document(template: dict) -> tuple[str, dict]:
    """The posts_live view's ViewOriginalText as deployed with default parameters, and the
    Presto view JSON Athena decodes from it."""
    import base64
    import json

    table = template["Resources"]["PostsLiveView"]["Properties"]["TableInput"]
    sep, parts = table["ViewOriginalText"]["Fn::Join"]
    names = {"GlueDatabase": template["Parameters"]["GlueDatabaseName"]["Default"]}
    text = sep.join(
        base64.b64encode(with_defaults(template, sub_text(p["Fn::Base64"]), names).encode()).decode()
        if isinstance(p, dict) else p
        for p in parts
    )
    m = re.fullmatch(r"/\* Presto View: ([A-Za-z0-9+/=]+) \*/", text)
    assert m, f"not the form Athena reads: {text[:60]}..."
    return text, json.loads(base64.b64decode(m.group(1)))


def normalized(sql: str) -> str:
    return " ".join(sql.split())


def test_the_view_is_a_presto_view_athena_can_read(template):
    table = template["Resources"]["PostsLiveView"]["Properties"]["TableInput"]
    assert table["Name"] == "posts_live"
    assert table["TableType"] == "VIRTUAL_VIEW"
    assert table["Parameters"] == {"presto_view": "true", "comment": "Presto View"}
    assert table["ViewExpandedText"] == "/* Presto View */"
    # GIVEN the view JSON decoded from base64 as Athena does
    _, view = view_document(template)
    assert view["catalog"] == "awsdatacatalog"
    assert view["schema"] == template["Parameters"]["GlueDatabaseName"]["Default"]
    # THEN its columns are the posts table's (Presto types) and dt, as the Glue view's are
    posts = template["Resources"]["PostsTable"]["Properties"]["TableInput"]
    expected = [(n if n != "SentimentField" else "sentiment", t) for n, t in _columns(posts["StorageDescriptor"]).items()]
    expected.append(("dt", "string"))
    assert [(c["name"], c["type"]) for c in view["columns"]] == [(n, presto_type(t)) for n, t in expected]
    glue = [(n if n != "SentimentField" else "sentiment", t) for n, t in _columns(table["StorageDescriptor"]).items()]
    assert glue == expected
    # AND its SQL selects exactly those columns, in order
    sql = view["originalSql"]
    select = re.match(r"SELECT (.*?) FROM \(", normalized(sql)).group(1)
    assert [c.strip().strip('"') for c in select.split(",")] == [n for n, _ in expected]


def test_the_view_hides_deleted_posts_inactive_accounts_and_old_versions(template):
    _, view = view_document(template)
    sql = normalized(view["originalSql"])
    # Valid-looking: one statement, balanced, over the two tables of the stack's database
    assert sql.startswith("SELECT ") and ";" not in sql
    assert sql.count("(") == sql.count(")")
    assert re.search(r"\bFROM posts p\b", sql)
    # Deleted posts: an id with an op 'delete' record
    assert "NOT EXISTS (SELECT 1 FROM deletions d WHERE d.op = 'delete' AND d.id = newest.id)" in sql
    # Accounts: the latest account record (largest time_us) decides, whatever its status
    assert "max_by(active, time_us) AS active FROM deletions WHERE op = 'account' GROUP BY did" in sql
    assert "WHERE a.did = newest.did AND NOT a.active" in sql
    assert "status" not in sql.split("FROM (", 1)[1], "hiding must not depend on the status"
    # Versions: the newest time_us of each id (rows without an id are all kept)
    assert "PARTITION BY p.id ORDER BY p.time_us DESC" in sql
    assert "CASE WHEN p.id IS NULL THEN 1" in sql and "WHERE version_rank = 1" in sql


def test_the_saved_query_and_the_readme_create_the_same_view(template):
    _, view = view_document(template)
    query = template["Resources"]["PostsLiveViewQuery"]["Properties"]
    assert query["Database"] == {"Ref": "GlueDatabase"}
    text = with_defaults(template, sub_text(query["QueryString"]))
    prefix = "CREATE OR REPLACE VIEW posts_live AS "
    assert normalized(text).startswith(prefix)
    assert normalized(text)[len(prefix):] == normalized(view["originalSql"])
    # infra/README.md shows the same SQL (default parameters) in its posts_live section
    readme = (ROOT / "infra" / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sql\n(CREATE OR REPLACE VIEW posts_live AS.*?)```", readme, re.S)
    assert len(blocks) == 1, "infra/README.md should show the posts_live SQL once"
    assert normalized(blocks[0]) == normalized(text)


def test_the_purge_readme_states_the_stacks_defaults(template):
    # GIVEN crates/deletion-purge/README.md's settings table (`VARIABLE` | `default` | ...)
    readme = (ROOT / "crates" / "deletion-purge" / "README.md").read_text(encoding="utf-8")
    rows, required = {}, set()
    for line in readme.splitlines():
        m = re.match(r"\| `([A-Z][A-Z0-9_]*)` \| `([^`<]*)` \|", line)
        if m:
            rows[m.group(1)] = m.group(2)
        m = re.match(r"\| `([A-Z][A-Z0-9_]*)` \| \(required", line)
        if m:
            required.add(m.group(1))
    # THEN every setting the purge reads is in it, and each literal default is what the stack sets
    read = vars_read("PurgeFunction")
    documented = set(rows) | required | {"RUST_LOG"}
    assert read <= documented, f"not in the README: {sorted(read - documented)}"
    for var, documented in rows.items():
        set_by_stack = env_of(template, "PurgeFunction")[var]
        if resolve(set_by_stack, conditions_for(template, "s3")) == NO_VALUE:
            # Set only on an Iceberg stack: an S3 stack leaves it at the code's default.
            assert var in ("DESTINATION", "ICEBERG_POSTS_TABLE", "ICEBERG_PURGES_TABLE"), var
            continue
        value = param_default(template, set_by_stack)
        assert value == documented, f"{var}: the README says {documented!r}, the template {value!r}"


def test_the_purge_parameters_default_to_the_codes_defaults(template):
    # The numeric defaults, from the constants in crates/purge/src/config.rs, the handler and the
    # kernel's env (the metrics namespace every function shares).
    code = (ROOT / "crates" / "purge" / "src" / "config.rs").read_text(encoding="utf-8")
    code += (ROOT / "crates" / "deletion-purge" / "src" / "handler.rs").read_text(encoding="utf-8")
    code += (ROOT / "crates" / "kernel" / "src" / "env.rs").read_text(encoding="utf-8")

    def seconds(const: str) -> int:
        m = re.search(rf"{const}: Duration = Duration::from_secs\(([0-9_ *]+)\)", code)
        assert m, f"{const} not found"
        return eval(m.group(1).replace("_", ""))  # a product of literals, e.g. 48 * 3_600

    params = template["Parameters"]
    assert params["PurgeCreationSkewMinutes"]["Default"] * 60 == seconds("DEFAULT_CREATION_SKEW")
    assert params["PurgeWatchHours"]["Default"] * 3600 == seconds("DEFAULT_WATCH")
    assert params["PurgePendingAlarmHours"]["Default"] * 3600 == seconds("DEFAULT_PENDING_ALARM")
    assert params["PurgeDeadlineMarginMs"]["Default"] == seconds("DEFAULT_DEADLINE_MARGIN") * 1000
    assert f'DEFAULT_METRICS_NAMESPACE: &str = "{params["MetricsNamespace"]["Default"]}"' in code


# --------------------------------------------------------------------------- Destination=iceberg


def conditions_for(template: dict, destination: str) -> dict[str, bool]:
    conditions = {name: False for name in template["Conditions"]}
    conditions["IcebergDestination"] = destination == "iceberg"
    conditions["S3Destination"] = destination == "s3"
    return conditions


def stack(template: dict, destination: str) -> dict:
    """The resources created with Destination=`destination` (each Fn::If taken)."""
    conditions = conditions_for(template, destination)
    resources = resolve(template["Resources"], conditions)
    return {n: r for n, r in resources.items() if conditions.get(r.get("Condition"), True)}


def test_destination_is_a_parameter_with_s3_the_default(template):
    param = template["Parameters"]["Destination"]
    assert (param["AllowedValues"], param["Default"]) == (["s3", "iceberg"], "s3")
    assert template["Conditions"]["IcebergDestination"] == {"Fn::Equals": [{"Ref": "Destination"}, "iceberg"]}


def test_an_s3_stack_is_the_stack_of_before(template):
    # GIVEN Destination=s3 (the default) WHEN deployed
    resources = stack(template, "s3")
    # THEN no Iceberg resource exists, the S3 delivery stream does, and no function is told
    # about Iceberg
    assert "PartitionedDeliveryStream" in resources
    assert not any(n.startswith("Iceberg") or n == "PurgeAthenaWorkGroup" for n in resources)
    for function in ("TransformFunction", "PurgeFunction"):
        env = resources[function]["Properties"]["Environment"]["Variables"]
        assert not {"DESTINATION", "ICEBERG_DATABASE", "ICEBERG_POSTS_TABLE", "ICEBERG_PURGES_TABLE",
                    "ATHENA_WORKGROUP"} & set(env), function
    # AND neither role reaches Glue's Iceberg tables or Athena
    for role in ("FirehoseRole", "PurgeRole"):
        text = json.dumps(resources[role])
        assert "IcebergDatabase" not in text and "athena:" not in text, role


def test_an_iceberg_stack_routes_to_the_tables_firehose_delivers_to(template):
    # GIVEN Destination=iceberg WHEN deployed
    resources = stack(template, "iceberg")
    assert "PartitionedDeliveryStream" not in resources
    ice = resources["IcebergDeliveryStream"]["Properties"]["IcebergDestinationConfiguration"]
    env = resources["TransformFunction"]["Properties"]["Environment"]["Variables"]
    # THEN the transform routes to exactly the tables the delivery stream lists, by the same names
    assert env["DESTINATION"] == "iceberg"
    assert env["PARTITION_KEYS"] == "false"
    tables = {t["DestinationTableName"]["Ref"]: t for t in ice["DestinationTableConfigurationList"]}
    assert set(tables) == {env["ICEBERG_POSTS_TABLE"]["Ref"], env["ICEBERG_PURGES_TABLE"]["Ref"]}
    assert {t["DestinationDatabaseName"]["Ref"] for t in tables.values()} == {env["ICEBERG_DATABASE"]["Ref"]}
    # AND those names are the Glue tables the stack creates, in that database
    assert resources["IcebergPostsTable"]["Properties"]["TableInput"]["Name"] == env["ICEBERG_POSTS_TABLE"]
    assert resources["IcebergPurgesTable"]["Properties"]["TableInput"]["Name"] == env["ICEBERG_PURGES_TABLE"]
    assert env["ICEBERG_DATABASE"] == {"Ref": "IcebergDatabase"}
    # AND posts are matched on id, updates and deletes applied (not append-only), errors kept
    posts = tables[env["ICEBERG_POSTS_TABLE"]["Ref"]]
    assert "id" in posts["UniqueKeys"]
    assert ice["AppendOnly"] is False
    assert all(t["S3ErrorOutputPrefix"].startswith("errors/") for t in tables.values())
    assert ice["S3Configuration"]["BucketARN"] == {"Fn::GetAtt": ["DataBucket", "Arn"]}
    assert ice["CatalogConfiguration"]["CatalogArn"]["Fn::Sub"].endswith(":catalog")
    # AND the transform is the processor, as on the S3 stack
    (processor,) = ice["ProcessingConfiguration"]["Processors"]
    assert {p["ParameterName"]: p["ParameterValue"] for p in processor["Parameters"]}["LambdaArn"] == {
        "Fn::GetAtt": ["TransformFunction", "Arn"]}
    # AND the purge reads the same names
    purge = resources["PurgeFunction"]["Properties"]["Environment"]["Variables"]
    assert {k: purge[k] for k in ("DESTINATION", "ICEBERG_DATABASE", "ICEBERG_POSTS_TABLE", "ICEBERG_PURGES_TABLE")} == {
        k: env[k] for k in ("DESTINATION", "ICEBERG_DATABASE", "ICEBERG_POSTS_TABLE", "ICEBERG_PURGES_TABLE")}
    assert purge["ATHENA_WORKGROUP"] == {"Ref": "PurgeAthenaWorkGroup"}


def _hive_to_iceberg(hive: str, field) -> bool:
    """Whether an Iceberg schema field's type is the Hive type `hive`."""
    t = field if not isinstance(field, dict) else field
    if hive == "bigint":
        return t == "long"
    if hive in ("string", "boolean", "double"):
        return t == hive
    if hive.startswith("array<"):
        return isinstance(t, dict) and t["type"] == "list" and _hive_to_iceberg(hive[6:-1], t["element"])
    if hive.startswith("struct<"):
        parts, depth, cur = [], 0, ""
        for ch in hive[7:-1]:
            depth += ch == "<"
            depth -= ch == ">"
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
            else:
                cur += ch
        parts.append(cur)
        if not (isinstance(t, dict) and t["type"] == "struct" and len(t["fields"]) == len(parts)):
            return False
        return all(f["name"] == p.split(":", 1)[0] and _hive_to_iceberg(p.split(":", 1)[1], f["type"])
                   for f, p in zip(t["fields"], parts))
    return False


def test_the_iceberg_posts_table_has_the_s3_posts_tables_columns_and_a_day_partition(template):
    # GIVEN the S3 stack's posts table and the Iceberg stack's
    name = lambda c: c["Name"] if isinstance(c["Name"], str) else c["Name"]["Ref"]  # noqa: E731
    today = [(name(c), c["Type"]) for c in template["Resources"]["PostsTable"]["Properties"]["TableInput"]
             ["StorageDescriptor"]["Columns"]]
    table = stack(template, "iceberg")["IcebergPostsTable"]["Properties"]
    columns = [(name(c), c["Type"]) for c in table["TableInput"]["StorageDescriptor"]["Columns"]]
    # THEN the Glue columns are today's, in order
    assert columns == today
    # AND the Iceberg schema has the same fields, types translated, id the required identifier
    iceberg = table["OpenTableFormatInput"]["IcebergInput"]["IcebergTableInput"]
    fields = iceberg["Schema"]["Fields"]
    assert [name(f) for f in fields] == [n for n, _ in today]
    for (n, hive), f in zip(today, fields):
        assert _hive_to_iceberg(hive, f["Type"]), (n, hive, f["Type"])
    ids = {name(f): f["Id"] for f in fields}
    assert iceberg["Schema"]["IdentifierFieldIds"] == [ids["id"]]
    assert [f["Required"] for f in fields if name(f) == "id"] == [True]
    # AND every field id, nested ones too, is unique
    def all_ids(t):
        if isinstance(t, dict) and t.get("type") == "struct":
            for f in t["fields"]:
                yield f["id"]
                yield from all_ids(f["type"])
        elif isinstance(t, dict) and t.get("type") == "list":
            yield t["element-id"]
            yield from all_ids(t["element"])
    every = [f["Id"] for f in fields] + [i for f in fields for i in all_ids(f["Type"])]
    assert len(every) == len(set(every))
    # AND it is partitioned by the day of time_us (microseconds)
    (part,) = iceberg["PartitionSpec"]["Fields"]
    assert (part["SourceId"], part["Transform"]) == (ids["time_us"], f"truncate[{86_400 * 1_000_000}]")


def test_the_iceberg_roles_reach_only_their_tables_workgroup_and_prefixes(template):
    resources = stack(template, "iceberg")
    def grants(role):
        statements = [s for p in resources[role]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
        return {(a, sub_text(r) if not (isinstance(r, dict) and "Fn::GetAtt" in r) else ".".join(r["Fn::GetAtt"]))
                for s in statements for a in _as_list(s["Action"]) for r in _as_list(s["Resource"])}
    glue = "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:"
    tables = {f"{glue}catalog", f"{glue}database/${{IcebergDatabase}}",
              f"{glue}table/${{IcebergDatabase}}/${{IcebergPostsTableName}}",
              f"{glue}table/${{IcebergDatabase}}/${{IcebergPurgesTableName}}"}
    for role in ("FirehoseRole", "PurgeRole"):
        g = grants(role)
        # THEN Glue on exactly the catalog, the database and the two tables
        assert {r for a, r in g if a.startswith("glue:")} == tables, role
        assert {a for a, _ in g if a.startswith("glue:")} == {"glue:GetDatabase", "glue:GetTable", "glue:UpdateTable"}
        # AND no Lake Formation (the tables use IAM access control)
        assert not any(a.startswith("lakeformation:") for a, _ in g)
    # AND Athena only in the purge's workgroup, three calls
    athena = {(a, r) for a, r in grants("PurgeRole") if a.startswith("athena:")}
    workgroup = "arn:${AWS::Partition}:athena:${AWS::Region}:${AWS::AccountId}:workgroup/${PurgeAthenaWorkGroup}"
    assert athena == {(a, workgroup) for a in
                      ("athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults")}
    # AND the purge's new S3 reach is the warehouse and its own results
    new_objects = {r for a, r in grants("PurgeRole") if a in ("s3:PutObject", "s3:GetObject")} - {
        "${DataBucket.Arn}/data/*", "${DataBucket.Arn}/deletions/*", "${DataBucket.Arn}/purge/*"}
    assert new_objects == {"${DataBucket.Arn}/lake/*", "${DataBucket.Arn}/athena-results/purge/*"}
    workgroup_output = resources["PurgeAthenaWorkGroup"]["Properties"]["WorkGroupConfiguration"]["ResultConfiguration"]
    assert sub_text(workgroup_output["OutputLocation"]) == "s3://${DataBucket}/athena-results/purge/"
