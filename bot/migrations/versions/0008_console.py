"""console: staff sign-in and roles, the file's new fields and its change history

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 23:45:35.759311
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "file_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("veteran_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("old_cipher", sa.Text(), nullable=False),
        sa.Column("new_cipher", sa.Text(), nullable=False),
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
    with op.batch_alter_table("file_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_file_changes_veteran_id"), ["veteran_id"], unique=False
        )

    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("station_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_audit_log_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_station_id"), ["station_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_audit_log_station_id_stations", "stations", ["station_id"], ["id"]
        )

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contacts_veteran_day", ["veteran_id", "contacted_on"], unique=False
        )

    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("role", sa.String(length=16), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("login", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("password_hash", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("auth_epoch", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("unbound_at", sa.DateTime(), nullable=True))
        batch_op.create_unique_constraint("uq_staff_login", ["login"])

    with op.batch_alter_table("veterans", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("village_group", sa.String(length=32), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("address_cipher", sa.Text(), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("emergency_cipher", sa.Text(), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("plaque_hung", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("plaque_hung_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("paired_cipher", sa.Text(), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("volunteer", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("veterans", schema=None) as batch_op:
        batch_op.drop_column("volunteer")
        batch_op.drop_column("paired_cipher")
        batch_op.drop_column("plaque_hung_on")
        batch_op.drop_column("plaque_hung")
        batch_op.drop_column("emergency_cipher")
        batch_op.drop_column("address_cipher")
        batch_op.drop_column("village_group")

    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_constraint("uq_staff_login", type_="unique")
        batch_op.drop_column("unbound_at")
        batch_op.drop_column("auth_epoch")
        batch_op.drop_column("password_hash")
        batch_op.drop_column("login")
        batch_op.drop_column("role")

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_veteran_day")

    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_constraint("fk_audit_log_station_id_stations", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_audit_log_station_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_created_at"))
        batch_op.drop_column("station_id")

    with op.batch_alter_table("file_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_file_changes_veteran_id"))

    op.drop_table("file_changes")
