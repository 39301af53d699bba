"""Webhook secrets become Standard Webhooks keys: `whsec_` and standard, padded base64 of the key bytes.

Secrets were `whsec_` and the URL-safe, unpadded base64 of 32 random bytes, which Standard Webhooks libraries decode
into other bytes (they skip `-` and `_`). The same 32 bytes, re-spelt in the standard alphabet, become the key.

Revision ID: 0007
Revises: 0006
"""
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

URL_SAFE = r"^whsec_[A-Za-z0-9_-]{43}$"
STANDARD = r"^whsec_[A-Za-z0-9+/]{43}=$"


def upgrade() -> None:
    op.execute(f"UPDATE intake.webhook SET secret = 'whsec_' || translate(substr(secret, 7), '-_', '+/') || '=' "
               f"WHERE secret ~ '{URL_SAFE}'")


def downgrade() -> None:
    op.execute(f"UPDATE intake.webhook SET secret = 'whsec_' || translate(substr(secret, 7, 43), '+/', '-_') "
               f"WHERE secret ~ '{STANDARD}'")
