"""identity: enrolment codes an administrator hands a new staff member

A staff member's first phone code no longer suffices to set up their authenticator: the SIM
alone must not own a staff account.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 07:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'staff_enrolment_codes',
        sa.Column('account_id', sa.String(length=26), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('issued_by', sa.String(length=26), nullable=True),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['account_id'], ['accounts.id'], name=op.f('fk_staff_enrolment_codes_account_id_accounts')
        ),
        sa.PrimaryKeyConstraint('account_id', name=op.f('pk_staff_enrolment_codes')),
    )


def downgrade():
    op.drop_table('staff_enrolment_codes')
