"""publishing: per-story, per-channel state and the upload cache

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "publish_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("publish_at", sa.DateTime(), nullable=True),
        sa.Column("title", sa.String(length=64), nullable=False),
        sa.Column("thumb_media_id", sa.String(length=128), nullable=True),
        sa.Column("media_id", sa.String(length=128), nullable=True),
        sa.Column("publish_id", sa.String(length=64), nullable=True),
        sa.Column("msg_data_id", sa.String(length=64), nullable=True),
        sa.Column("msg_id", sa.String(length=64), nullable=True),
        sa.Column("clientmsgid", sa.String(length=64), nullable=True),
        sa.Column("article_url", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("failed_step", sa.String(length=16), nullable=True),
        sa.Column("hint", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("retry_after", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug", "channel"),
    )
    with op.batch_alter_table("publish_states", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_publish_states_state"), ["state"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_publish_states_publish_id"), ["publish_id"], unique=False
        )

    op.create_table(
        "publish_media",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", "kind"),
    )


def downgrade() -> None:
    op.drop_table("publish_media")
    with op.batch_alter_table("publish_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_publish_states_publish_id"))
        batch_op.drop_index(batch_op.f("ix_publish_states_state"))
    op.drop_table("publish_states")
