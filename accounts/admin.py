from django.contrib import admin

from accounts.models import Account, Membership, User

admin.site.register(User)
admin.site.register(Account)
admin.site.register(Membership)
