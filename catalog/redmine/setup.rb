# Run by the release phase with `rails runner`, after the migrations.
# A new database gets Redmine's default configuration (trackers, statuses, roles, workflows) in REDMINE_LANG.
# The migrations create the account admin/admin: while it still has that password, it gets the generated one
# (HOP3_ADMIN_PASSWORD), so no install is left open to whoever logs in first. A password the admin changed
# later is never touched. The REST API is turned on once, at the first release, for integrations.
if Tracker.count.zero?
  lang = ENV.fetch("REDMINE_LANG", "en")
  Redmine::DefaultData::Loader.load(lang)
  Setting.rest_api_enabled = "1"
  puts "Redmine: default data loaded (#{lang}), REST API on"
end

admin = User.find_by(login: "admin")
password = ENV["HOP3_ADMIN_PASSWORD"].to_s
if admin && admin.check_password?("admin")
  abort "HOP3_ADMIN_PASSWORD is not set (hop3.toml [admin] generates it)" if password.empty?
  admin.password = password
  admin.password_confirmation = password
  admin.must_change_passwd = false
  admin.mail = ENV["HOP3_ADMIN_EMAIL"] if ENV["HOP3_ADMIN_EMAIL"].to_s != ""
  admin.save!
  puts "Redmine: administrator 'admin' has the generated password"
end
puts "Redmine #{Redmine::VERSION} ready, database schema up to date"
