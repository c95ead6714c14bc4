"""voice messages: unrecognised voice kept for call-backs

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 23:29:06.958867
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "voice_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("media_id", sa.String(length=128), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("audio", sa.Text(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("help_request_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["help_request_id"],
            ["help_requests.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("media_id"),
    )
    with op.batch_alter_table("voice_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_voice_messages_help_request_id"), ["help_request_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_voice_messages_openid"), ["openid"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("voice_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voice_messages_openid"))
        batch_op.drop_index(batch_op.f("ix_voice_messages_help_request_id"))

    op.drop_table("voice_messages")
