"""What Slack's error answers mean: which codes no retry can fix, and what a human must change.

chat.postMessage answers HTTP 200 with {"ok": false, "error": CODE}; an incoming webhook
answers a plain-text code with a 4xx status. Only a bare code is ever quoted back, never a body.
"""

from __future__ import annotations

import re

CODE = re.compile(r"[a-z0-9_]{1,64}")

# chat.postMessage answers HTTP 200 with {"ok": false, "error": CODE}. These codes cannot
# succeed on a retry; the value says what a human must change.
_TOKEN_FIX = (
    "the bot token is invalid, revoked or belongs to a deactivated app. Fix: reinstall the Slack "
    "app and put its Bot User OAuth Token (xoxb-…) in slack.token"
)
_SCOPE_FIX = (
    "the token may not post messages. Fix: add the chat:write scope under OAuth & Permissions, "
    "reinstall the app and update slack.token"
)
_ADMIN_FIX = (
    "a workspace setting forbids this post. Fix: ask a Slack admin or choose another slack.channel"
)
_BUG = "Slack rejected the message monitor built. This is a bug in monitor; please report it"
API_PERMANENT = {
    "invalid_auth": _TOKEN_FIX,
    "not_authed": _TOKEN_FIX,
    "account_inactive": _TOKEN_FIX,
    "token_revoked": _TOKEN_FIX,
    "token_expired": _TOKEN_FIX,
    "no_permission": _SCOPE_FIX,
    "missing_scope": _SCOPE_FIX,
    "not_allowed_token_type": _SCOPE_FIX,
    "not_in_channel": "the app is not a member of {channel}. Fix: invite it there (/invite @YourApp), or add the chat:write.public scope for public channels",
    "channel_not_found": "channel {channel} does not exist or the app cannot see it. Fix: check slack.channel (a private channel needs its ID, C…, and the app invited)",
    "is_archived": "channel {channel} is archived. Fix: unarchive it or set another slack.channel",
    "restricted_action": _ADMIN_FIX,
    "restricted_action_read_only_channel": _ADMIN_FIX,
    "restricted_action_thread_only_channel": _ADMIN_FIX,
    "restricted_action_non_threadable_channel": _ADMIN_FIX,
    "ekm_access_denied": _ADMIN_FIX,
    "access_denied": _ADMIN_FIX,
    "team_access_not_granted": _ADMIN_FIX,
    "org_login_required": _ADMIN_FIX,
    "enterprise_is_restricted": _ADMIN_FIX,
    "invalid_blocks": _BUG,
    "invalid_blocks_format": _BUG,
    "invalid_arguments": _BUG,
    "invalid_arg_name": _BUG,
    "invalid_array_arg": _BUG,
    "invalid_json": _BUG,
    "json_not_object": _BUG,
    "invalid_charset": _BUG,
    "invalid_form_data": _BUG,
    "invalid_post_type": _BUG,
    "missing_post_type": _BUG,
    "msg_too_long": _BUG,
    "no_text": _BUG,
    "too_many_attachments": _BUG,
}
RATE_LIMITED = {"ratelimited", "rate_limited"}

# chat.update: the message to edit is gone or may no longer be edited. Only that update is lost;
# it is never posted as a new message (that would page again).
_UNEDITABLE = (
    "the alert message can no longer be edited (deleted, too old, or not the app's own). "
    "This update is dropped; the next page posts a new message"
)
UPDATE_PERMANENT = {
    "message_not_found": _UNEDITABLE,
    "cant_update_message": _UNEDITABLE,
    "edit_window_closed": _UNEDITABLE,
    "is_inactive": _UNEDITABLE,
    "channel_not_found": _UNEDITABLE,
}

# Incoming webhooks answer a plain-text code with a 4xx status.
_HOOK_GONE = (
    "the webhook was revoked, or its app or workspace removed. Fix: create a new incoming "
    "webhook and put its URL in slack.webhook_url"
)
_HOOK_CHANNEL = (
    "the webhook's channel is gone or archived. Fix: create a new incoming webhook for an "
    "existing channel and update slack.webhook_url"
)
HOOK_PERMANENT = {
    "no_service": _HOOK_GONE,
    "no_service_id": _HOOK_GONE,
    "no_team": _HOOK_GONE,
    "team_disabled": _HOOK_GONE,
    "invalid_token": _HOOK_GONE,
    "channel_not_found": _HOOK_CHANNEL,
    "channel_is_archived": _HOOK_CHANNEL,
    "user_not_found": _HOOK_CHANNEL,
    "action_prohibited": _ADMIN_FIX,
    "posting_to_general_channel_denied": _ADMIN_FIX,
    "invalid_payload": _BUG,
    "too_many_attachments": _BUG,
    "no_text": _BUG,
}


def error_code(text: str) -> str:
    """Slack's error code, if the body is one; otherwise nothing (the body is not echoed)."""
    text = text.strip()
    return text if CODE.fullmatch(text) else ""
