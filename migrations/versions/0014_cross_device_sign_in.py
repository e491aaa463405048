"""identity: cross-device sign-in (a registered screen shows a QR, the phone approves)

Agencies register their portals, kiosks and counter desks; each sign-in request lives a couple
of minutes; a screen's session records the phone session that approved it.

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-03 09:06:50.447764

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('signin_clients',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('agency_id', sa.String(length=26), nullable=False),
    sa.Column('kind', sa.Enum('portal', 'kiosk', 'counter', name='signinclientkind', native_enum=False, length=24), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('name_en', sa.String(length=120), nullable=True),
    sa.Column('place', sa.String(length=200), nullable=True),
    sa.Column('registered_by', sa.String(length=26), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_signin_clients_agency_id_agencies')),
    sa.ForeignKeyConstraint(['registered_by'], ['accounts.id'], name=op.f('fk_signin_clients_registered_by_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signin_clients'))
    )
    with op.batch_alter_table('signin_clients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signin_clients_agency_id'), ['agency_id'], unique=False)

    op.create_table('cross_device_requests',
    sa.Column('id', sa.String(length=43), nullable=False),
    sa.Column('client_id', sa.String(length=26), nullable=False),
    sa.Column('status', sa.Enum('pending', 'approved', 'denied', 'redeemed', name='crossdevicestatus', native_enum=False, length=24), nullable=False),
    sa.Column('requested_acr', sa.SmallInteger(), nullable=False),
    sa.Column('code_challenge', sa.String(length=43), nullable=False),
    sa.Column('display_code', sa.String(length=2), nullable=False),
    sa.Column('choices', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('wrong_picks', sa.SmallInteger(), nullable=False),
    sa.Column('interval', sa.SmallInteger(), nullable=False),
    sa.Column('next_poll_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('user_agent', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('account_id', sa.String(length=26), nullable=True),
    sa.Column('approving_session_id', sa.String(length=26), nullable=True),
    sa.Column('session_id', sa.String(length=26), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_cross_device_requests_account_id_accounts')),
    sa.ForeignKeyConstraint(['approving_session_id'], ['sessions.id'], name=op.f('fk_cross_device_requests_approving_session_id_sessions')),
    sa.ForeignKeyConstraint(['client_id'], ['signin_clients.id'], name=op.f('fk_cross_device_requests_client_id_signin_clients')),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_cross_device_requests_session_id_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cross_device_requests'))
    )
    with op.batch_alter_table('cross_device_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cross_device_requests_client_id'), ['client_id'], unique=False)

    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approved_by_session_id', sa.String(length=26), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_sessions_approved_by_session_id_sessions'), 'sessions', ['approved_by_session_id'], ['id'])



def downgrade():
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_sessions_approved_by_session_id_sessions'), type_='foreignkey')
        batch_op.drop_column('approved_by_session_id')

    with op.batch_alter_table('cross_device_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cross_device_requests_client_id'))

    op.drop_table('cross_device_requests')
    with op.batch_alter_table('signin_clients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signin_clients_agency_id'))

    op.drop_table('signin_clients')
