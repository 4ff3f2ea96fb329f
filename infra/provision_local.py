"""Create, on the local AWS stand-in, the resources template.yaml declares.

Idempotent: running it twice changes nothing. Prints the environment the functions, tests and
demo need (the same variable names the template sets on the functions) as KEY=VALUE lines.
"""

import json
import os
import sys

import boto3
from botocore.exceptions import ClientError

APP = os.environ.get("APP_NAME", "callcoach")
REGION = os.environ.get("AWS_REGION", "us-east-1")
ENDPOINT = os.environ["AWS_ENDPOINT_URL"]
CATEGORIES = ["transcripts", "insights", "notes", "tokens"]
# Must match template.yaml: worker timeout 60 s -> visibility 360 s, 5 receives before the DLQ.
SCORING_VISIBILITY = 360
UPLOAD_VISIBILITY = 180
# The api function runs export jobs with its 300 s timeout.
EXPORT_VISIBILITY = 1800
MAX_RECEIVES = 5


def client(name):
    return boto3.client(name, endpoint_url=ENDPOINT, region_name=REGION)


def kms_key(kms, alias, description):
    full = f"alias/{alias}"
    try:
        return kms.describe_key(KeyId=full)["KeyMetadata"]["Arn"]
    except ClientError:
        key = kms.create_key(Description=description)["KeyMetadata"]
        kms.enable_key_rotation(KeyId=key["KeyId"])
        kms.create_alias(AliasName=full, TargetKeyId=key["KeyId"])
        return key["Arn"]


def queue(sqs, name, dlq_arn=None, visibility=30):
    attributes = {"VisibilityTimeout": str(visibility), "MessageRetentionPeriod": "1209600"}
    if dlq_arn:
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVES)}
        )
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def table(ddb, name, kms_arn):
    try:
        ddb.describe_table(TableName=name)
        return
    except ClientError:
        pass
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": a, "AttributeType": "S"}
            for a in [
                "pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "exp_pk", "exp_sk",
                "wait_pk", "wait_sk",
            ]
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "gsi2",
                "KeySchema": [
                    {"AttributeName": "gsi2pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi2sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "expiry",
                "KeySchema": [
                    {"AttributeName": "exp_pk", "KeyType": "HASH"},
                    {"AttributeName": "exp_sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
            {
                "IndexName": "waiting",
                "KeySchema": [
                    {"AttributeName": "wait_pk", "KeyType": "HASH"},
                    {"AttributeName": "wait_sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": kms_arn},
    )
    ddb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )
    ddb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )


def keys_table(ddb, name, kms_arn):
    """The wrapped data keys: key only, one day of point-in-time recovery (template.yaml)."""
    try:
        ddb.describe_table(TableName=name)
        return
    except ClientError:
        pass
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ["pk", "sk"]],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": kms_arn},
    )
    ddb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )


def bucket(s3, name, kms_arn, notify_queue_arn):
    try:
        s3.head_bucket(Bucket=name)
    except ClientError:
        s3.create_bucket(Bucket=name)
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_arn},
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(
        Bucket=name,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": notify_queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/"}]}},
                }
            ]
        },
    )


def main():
    kms, sqs, ddb, s3, sts = (client(n) for n in ["kms", "sqs", "dynamodb", "s3", "sts"])
    account = sts.get_caller_identity()["Account"]
    env = {}
    storage_key = kms_key(kms, f"{APP}-storage", "callcoach table and bucket encryption")
    env["STORAGE_KMS_KEY"] = storage_key
    for category in CATEGORIES:
        env[f"KMS_KEY_{category.upper()}"] = kms_key(kms, f"{APP}-{category}", f"callcoach {category} data keys")

    upload_dlq_url, upload_dlq_arn = queue(sqs, f"{APP}-upload-events-dlq")
    upload_url, upload_arn = queue(sqs, f"{APP}-upload-events", upload_dlq_arn, UPLOAD_VISIBILITY)
    scoring_dlq_url, scoring_dlq_arn = queue(sqs, f"{APP}-scoring-dlq")
    scoring_url, _ = queue(sqs, f"{APP}-scoring", scoring_dlq_arn, SCORING_VISIBILITY)
    export_dlq_url, export_dlq_arn = queue(sqs, f"{APP}-export-jobs-dlq")
    export_url, _ = queue(sqs, f"{APP}-export-jobs", export_dlq_arn, EXPORT_VISIBILITY)

    table_name = APP
    table(ddb, table_name, storage_key)
    keys_table_name = f"{APP}-keys"
    keys_table(ddb, keys_table_name, storage_key)
    bucket_name = f"{APP}-data-{account}-{REGION}"
    bucket(s3, bucket_name, storage_key, upload_arn)

    env.update(
        TABLE_NAME=table_name,
        KEYS_TABLE_NAME=keys_table_name,
        BUCKET_NAME=bucket_name,
        UPLOAD_EVENTS_QUEUE_URL=upload_url,
        UPLOAD_EVENTS_DLQ_URL=upload_dlq_url,
        SCORING_QUEUE_URL=scoring_url,
        SCORING_DLQ_URL=scoring_dlq_url,
        EXPORT_JOBS_QUEUE_URL=export_url,
        EXPORT_JOBS_DLQ_URL=export_dlq_url,
        S3_FORCE_PATH_STYLE="true",
    )
    for key, value in sorted(env.items()):
        print(f"{key}={value}")


if __name__ == "__main__":
    sys.exit(main())
