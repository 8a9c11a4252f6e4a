"""Sign-in with LDAP / Active Directory: settings, the ldap3 client, sign-in and session
rechecks, directory groups linked to teams, the admin page and its health."""
