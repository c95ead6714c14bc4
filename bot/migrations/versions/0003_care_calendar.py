"""care calendar

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 17:52:34.056967
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occasion", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.Column("tag_name", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("clientmsgid", sa.String(length=64), nullable=False),
        sa.Column("media_id", sa.String(length=128), nullable=True),
        sa.Column("msg_id", sa.String(length=64), nullable=True),
        sa.Column("msg_data_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("total_count", sa.Integer(), nullable=True),
        sa.Column("filter_count", sa.Integer(), nullable=True),
        sa.Column("sent_count", sa.Integer(), nullable=True),
        sa.Column("error_count", sa.Integer(), nullable=True),
        sa.Column("finish_status", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("clientmsgid"),
        sa.UniqueConstraint("occasion", "year", "tag_id"),
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaigns_msg_id"), ["msg_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_campaigns_state"), ["state"], unique=False)

    op.create_table(
        "occasion_dates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occasion", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("set_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("occasion", "year"),
    )
    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("veteran_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("contacted_on", sa.Date(), nullable=False),
        sa.Column("note_cipher", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
        ),
        sa.ForeignKeyConstraint(
            ["veteran_id"],
            ["veterans.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contacts_contacted_on"), ["contacted_on"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_contacts_staff_id"), ["staff_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contacts_veteran_id"), ["veteran_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_veteran_id"))
        batch_op.drop_index(batch_op.f("ix_contacts_staff_id"))
        batch_op.drop_index(batch_op.f("ix_contacts_contacted_on"))

    op.drop_table("contacts")
    op.drop_table("occasion_dates")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaigns_state"))
        batch_op.drop_index(batch_op.f("ix_campaigns_msg_id"))

    op.drop_table("campaigns")
