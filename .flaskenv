# Read by flask (python-dotenv) so that `flask ...` finds the app without exporting anything.
FLASK_APP=backend
