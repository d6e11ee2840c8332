"""The web application: the only package that imports Flask and Werkzeug.

The app factory is ``kazdata.web.app.create_app``; this package's own module imports nothing, so
a module that needs only ``kazdata.web.negotiation`` (the static export) does not load Flask.
"""
