"""Enumerations and small shapes shared by the Conversation API's rules.

Values as in Sinch's Conversation API reference
(https://developers.sinch.com/docs/conversation/api-reference/conversation/).
"""

from __future__ import annotations

from typing import Literal

import msgspec

Channel = Literal[
    "SMS",
    "RCS",
    "WHATSAPP",
    "MMS",
    "KAKAOTALK",
    "KAKAOTALKCHAT",
    "VIBERBM",
    "LINE",
    "INSTAGRAM",
    "MESSENGER",
    "WECHAT",
    "TELEGRAM",
    "APPLEBC",
]
CHANNELS: tuple[str, ...] = Channel.__args__  # type: ignore[attr-defined]

ProcessingMode = Literal["CONVERSATION", "DISPATCH"]
ProcessingStrategy = Literal["DEFAULT", "DISPATCH_ONLY"]
MessageQueue = Literal["NORMAL_PRIORITY", "HIGH_PRIORITY"]
Direction = Literal["TO_APP", "TO_CONTACT"]
DeliveryStatus = Literal["QUEUED_ON_CHANNEL", "DELIVERED", "READ", "FAILED", "SWITCHING_CHANNEL"]

ReasonCode = Literal[
    "UNKNOWN",
    "INTERNAL_ERROR",
    "RATE_LIMITED",
    "RECIPIENT_INVALID_CHANNEL_IDENTITY",
    "RECIPIENT_NOT_REACHABLE",
    "RECIPIENT_NOT_OPTED_IN",
    "OUTSIDE_ALLOWED_SENDING_WINDOW",
    "CHANNEL_FAILURE",
    "CHANNEL_BAD_CONFIGURATION",
    "CHANNEL_CONFIGURATION_MISSING",
    "MEDIA_TYPE_UNSUPPORTED",
    "MEDIA_TOO_LARGE",
    "MEDIA_NOT_REACHABLE",
    "NO_CHANNELS_LEFT",
    "TEMPLATE_NOT_FOUND",
    "TEMPLATE_INSUFFICIENT_PARAMETERS",
    "TEMPLATE_NON_EXISTING_LANGUAGE_OR_VERSION",
    "DELIVERY_TIMED_OUT",
    "DELIVERY_REJECTED_DUE_TO_POLICY",
    "CONTACT_NOT_FOUND",
    "BAD_REQUEST",
    "UNKNOWN_APP",
    "NO_CHANNEL_IDENTITY_FOR_CONTACT",
    "CHANNEL_REJECT",
    "NO_PERMISSION",
    "NO_PROFILE_AVAILABLE",
    "UNSUPPORTED_OPERATION",
]
REASON_CODES: tuple[str, ...] = ReasonCode.__args__  # type: ignore[attr-defined]
ReasonSubCode = Literal["UNSPECIFIED_SUB_CODE", "ATTACHMENT_REJECTED", "MEDIA_TYPE_UNDETERMINED", "INACTIVE_SENDER"]

WebhookTrigger = Literal[
    "MESSAGE_DELIVERY",
    "EVENT_DELIVERY",
    "MESSAGE_INBOUND",
    "EVENT_INBOUND",
    "CONVERSATION_START",
    "CONVERSATION_STOP",
    "CONTACT_CREATE",
    "CONTACT_DELETE",
    "CONTACT_MERGE",
    "CONTACT_UPDATE",
    "UNSUPPORTED",
    "OPT_IN",
    "OPT_OUT",
    "CAPABILITY",
    "CONVERSATION_DELETE",
    "CONTACT_IDENTITIES_DUPLICATION",
    "CHANNEL_EVENT",
    "SMART_CONVERSATION",
    "MESSAGE_INBOUND_SMART_CONVERSATION_REDACTION",
    "RECORD_NOTIFICATION",
    "MESSAGE_SUBMIT",
]
TRIGGERS: tuple[str, ...] = WebhookTrigger.__args__  # type: ignore[attr-defined]

# Resources (apps, contacts, webhooks, conversations) and batches.
WebhookTargetType = Literal["HTTP", "DISMISS"]
ConversationMetadataReportView = Literal["NONE", "FULL"]
RetentionPolicyType = Literal["MESSAGE_EXPIRE_POLICY", "CONVERSATION_EXPIRE_POLICY", "PERSIST_RETENTION_POLICY"]
ChannelIntegrationStatus = Literal["PENDING", "ACTIVE", "FAILING"]
MetadataUpdateStrategy = Literal["REPLACE", "MERGE_PATCH"]
MessageContentType = Literal["CONTENT_UNKNOWN", "CONTENT_MARKETING", "CONTENT_NOTIFICATION"]
MessagesSource = Literal["CONVERSATION_SOURCE", "DISPATCH_SOURCE"]
BatchStatus = Literal["SCHEDULED", "READY", "PROCESSED", "CANCELLED"]
ContactLanguage = Literal[
    "AF",
    "SQ",
    "AR",
    "AZ",
    "BN",
    "BG",
    "CA",
    "ZH",
    "ZH_CN",
    "ZH_HK",
    "ZH_TW",
    "HR",
    "CS",
    "DA",
    "NL",
    "EN",
    "EN_GB",
    "EN_US",
    "ET",
    "FIL",
    "FI",
    "FR",
    "DE",
    "EL",
    "GU",
    "HA",
    "HE",
    "HI",
    "HU",
    "ID",
    "GA",
    "IT",
    "JA",
    "KN",
    "KK",
    "KO",
    "LO",
    "LV",
    "LT",
    "MK",
    "MS",
    "ML",
    "MR",
    "NB",
    "FA",
    "PL",
    "PT",
    "PT_BR",
    "PT_PT",
    "PA",
    "RO",
    "RU",
    "SR",
    "SK",
    "SL",
    "ES",
    "ES_AR",
    "ES_ES",
    "ES_MX",
    "SW",
    "SV",
    "TA",
    "TE",
    "TH",
    "TR",
    "UK",
    "UR",
    "UZ",
    "VI",
    "ZU",
]
LANGUAGES: tuple[str, ...] = ContactLanguage.__args__  # type: ignore[attr-defined]

# Channel properties the SMS channel understands (values are always strings).
SMS_PROPERTIES = ("SMS_SENDER", "SMS_FLASH_MESSAGE", "SMS_MAX_NUMBER_OF_MESSAGE_PARTS")


# AppMessage enumerations.
CardHeight = Literal["UNSPECIFIED_HEIGHT", "SHORT", "MEDIUM", "TALL"]
DisplayMode = Literal["DISPLAY_MODE_UNSPECIFIED", "PERSISTENT"]
AgentType = Literal["UNKNOWN_AGENT_TYPE", "HUMAN", "BOT"]
ChannelSpecificMessageType = Literal[
    "FLOWS", "ORDER_DETAILS", "ORDER_STATUS", "COMMERCE", "CAROUSEL_COMMERCE", "NOTIFICATION_MESSAGE_TEMPLATE"
]


class ChannelIdentity(msgspec.Struct, omit_defaults=True):
    channel: Channel
    identity: str
    app_id: str = ""


class Reason(msgspec.Struct, frozen=True):
    """Why a message FAILED (or is SWITCHING_CHANNEL): the `reason` of a delivery receipt.
    `sub_code` is always sent, as in Sinch's own receipt fixtures; `channel_code` (WhatsApp
    only) never is."""

    code: ReasonCode
    description: str = ""
    sub_code: ReasonSubCode = "UNSPECIFIED_SUB_CODE"
