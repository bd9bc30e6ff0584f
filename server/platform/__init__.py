"""Infrastructure, apart from the domain: the embedded servers, where the servers are, the
database engine and sessions, the process runtime and the migrations, and what the models'
enums share (their CHECK constraints, the labels their members carry)."""
