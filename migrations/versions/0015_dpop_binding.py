"""identity: sessions bound to a key the device holds (DPoP, RFC 9449)

A session may hold the RFC 7638 thumbprint of the device's key: its access tokens carry it
(cnf.jkt) and its refresh tokens are honoured only with a proof signed by that key.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 10:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dpop_jkt', sa.String(length=43), nullable=True))


def downgrade():
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_column('dpop_jkt')
